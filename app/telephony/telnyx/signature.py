"""Validation of Telnyx webhook signatures (Ed25519), without any web framework.

Telnyx signs ``"{telnyx-timestamp}|{raw body}"`` with its account key and sends the base64
signature in ``telnyx-signature-ed25519``. The timestamp is signed too, so bounding its age is
what stops a captured request from being replayed later.
"""

from __future__ import annotations

import binascii
import functools
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["telnyx_signature_valid"]

_PUBLIC_KEY_BYTES = 32
_SIGNATURE_BYTES = 64


def _b64decode(value: str) -> bytes | None:
    """Strict base64 decoding; None for anything that is not canonical base64."""
    try:
        # strict_mode refuses stray characters, bad padding and data after the padding, which
        # the default mode would silently skip.
        return binascii.a2b_base64(value.strip().encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


@functools.lru_cache(maxsize=8)
def _load_public_key(public_key_b64: str) -> Ed25519PublicKey | None:
    # Cached because the key comes from configuration and never changes between requests,
    # while decoding and loading it for every webhook would be wasted work. A bad key is
    # cached as None so a misconfiguration costs no more than a good key.
    raw = _b64decode(public_key_b64)
    if raw is None or len(raw) != _PUBLIC_KEY_BYTES:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def telnyx_signature_valid(
    public_key_b64: str,
    body: bytes,
    signature_b64: str | None,
    timestamp: str | None,
    *,
    now: Callable[[], float] = time.time,
    tolerance_s: int = 300,
) -> bool:
    """True when the ``telnyx-signature-ed25519`` header signs ``timestamp|body`` with the key.

    ``public_key_b64`` is the account's public key as shown in the Telnyx portal (base64 of 32
    raw bytes); ``body`` is the raw request body, unparsed; ``timestamp`` is the
    ``telnyx-timestamp`` header (Unix seconds), which must be within ``tolerance_s`` of ``now()``
    in either direction. Never raises: every malformed input is simply not a valid signature.
    """
    if not signature_b64 or not timestamp:
        return False
    # Only plain ASCII digits: int() would also take "+1", " 1", "1_000" or non-ASCII digits,
    # none of which Telnyx sends. The length cap keeps int() away from its 4300-digit limit,
    # which raises ValueError; 12 digits already reach the year 33658.
    if len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now() - int(timestamp)) > tolerance_s:
        return False
    public_key = _load_public_key(public_key_b64)
    if public_key is None:
        return False
    signature = _b64decode(signature_b64)
    if signature is None or len(signature) != _SIGNATURE_BYTES:
        return False
    try:
        # The timestamp string is signed exactly as received, not as re-formatted from int().
        public_key.verify(signature, timestamp.encode("ascii") + b"|" + body)
    except InvalidSignature:
        return False
    return True
