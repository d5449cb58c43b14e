"""Why a provider's signature did not verify, in words an operator can act on.

Only called for a request already refused, so the extra checks cost nothing on the accepted path.
Nothing here names a secret: the details say which setting to compare, never its value.
It re-runs the providers' own checks (app/telephony/*/signature.py) on variants of the request,
so it sits on the edge with the telephony routes that call it, not below them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from app.integrations.deliveries import Reason
from app.telephony.telnyx.signature import _load_public_key, telnyx_signature_valid
from app.telephony.twilio.signature import twilio_signature_valid

TELNYX_TOLERANCE_S = 300


def _shown(url: str) -> str:
    """A URL without its query (Twilio's parameters may carry a number)."""
    return url.partition("?")[0].partition("#")[0]


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]}"


def _other_scheme(url: str) -> str | None:
    for this, other in (("http://", "https://"), ("https://", "http://")):
        if url.startswith(this):
            return other + url[len(this) :]
    return None


def twilio_rejection(
    auth_token: str,
    *,
    checked_url: str,
    received_url: str,
    forwarded_url: str | None,
    public_url: str | None,
    params: Mapping[str, str | Sequence[str]],
    signature: str | None,
) -> tuple[Reason, str]:
    """Why X-Twilio-Signature failed for `checked_url` (the URL the check rebuilt: from
    RINGCARD_PUBLIC_URL when set, else the request's own). `received_url` is the URL as this
    service received it, `forwarded_url` the one X-Forwarded-Proto/-Host describe (if any)."""
    if not signature:
        return Reason.MISSING_SIGNATURE, "no X-Twilio-Signature header: the request did not come from Twilio"
    candidates: list[str] = []
    if public_url:
        candidates += [received_url, *([forwarded_url] if forwarded_url else [])]
    else:
        candidates += [
            *([forwarded_url] if forwarded_url else []),
            *filter(None, [_other_scheme(checked_url)]),
        ]
    for candidate in dict.fromkeys(c for c in candidates if c != checked_url):
        if twilio_signature_valid(auth_token, candidate, params, signature):
            if public_url:
                return Reason.WRONG_URL, (
                    f"signed for {_shown(candidate)}, not for {_shown(checked_url)} "
                    f"(built from RINGCARD_PUBLIC_URL): Twilio calls another scheme or host than "
                    f"RINGCARD_PUBLIC_URL says; set it to {_origin(candidate)} or change the webhook "
                    "URL in Twilio's console"
                )
            return Reason.WRONG_URL, (
                f"signed for {_shown(candidate)}, but this request arrived as {_shown(checked_url)}: "
                f"a proxy changes the scheme or host on the way; set RINGCARD_PUBLIC_URL={_origin(candidate)}"
            )
    tried = " or ".join(_shown(url) for url in dict.fromkeys([checked_url, *candidates]))
    return Reason.WRONG_SECRET, (
        f"the signature matches no URL this request could have had ({tried}): "
        "RINGCARD_TWILIO_AUTH_TOKEN is not this Twilio account's auth token (or a proxy rewrote the path)"
    )


def telnyx_rejection(
    public_key: str, body: bytes, signature: str | None, timestamp: str | None, now: Callable[[], float]
) -> tuple[Reason, str]:
    """Why a Telnyx request failed its Ed25519 check: missing headers, a key that is no key, a
    stale timestamp on a good signature, or a signature that is not Telnyx's."""
    if not signature:
        return (
            Reason.MISSING_SIGNATURE,
            "no telnyx-signature-ed25519 header: the request did not come from Telnyx",
        )
    if not timestamp:
        return Reason.MISSING_SIGNATURE, "no telnyx-timestamp header"
    if _load_public_key(public_key) is None:
        return Reason.WRONG_SECRET, (
            "RINGCARD_TELNYX_PUBLIC_KEY is not a base64 Ed25519 public key (32 bytes): "
            "copy the public key from the Telnyx portal"
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return Reason.WRONG_SECRET, "telnyx-timestamp is not a Unix time in seconds"
    sent = int(timestamp)
    if telnyx_signature_valid(public_key, body, signature, timestamp, now=lambda: float(sent)):
        away = now() - sent
        return Reason.STALE_TIMESTAMP, (
            f"validly signed, but telnyx-timestamp is {abs(away):.0f} s "
            f"{'behind' if away > 0 else 'ahead of'} this server's clock ({TELNYX_TOLERANCE_S} s "
            "allowed): a replayed request, or a clock that is off (check NTP on this server)"
        )
    return Reason.WRONG_SECRET, (
        "the signature does not verify with RINGCARD_TELNYX_PUBLIC_KEY: the public key of another "
        "Telnyx account, or a body changed on the way"
    )


def request_urls(scheme: str, headers: Mapping[str, str], path_and_query: str) -> tuple[str, str | None]:
    """The URL as this service received the request (its scheme and Host header), and the one a
    proxy's X-Forwarded-Proto / X-Forwarded-Host describe, if it sent either."""
    host = headers.get("host", "")
    received = f"{scheme}://{host}{path_and_query}"
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    forwarded_host = headers.get("x-forwarded-host", "").split(",")[0].strip()
    if not proto and not forwarded_host:
        return received, None
    return received, f"{proto or scheme}://{forwarded_host or host}{path_and_query}"
