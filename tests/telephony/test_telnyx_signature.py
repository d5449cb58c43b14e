from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.telephony.telnyx.signature import _load_public_key, telnyx_signature_valid

NOW = 1_764_000_000
TIMESTAMP = str(NOW)
BODY = json.dumps(
    {
        "data": {
            "event_type": "call.initiated",
            "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
            "occurred_at": "2025-11-24T16:00:00.000000Z",
            "payload": {
                "call_control_id": "v3:abc",
                "from": "+48601234567",
                "to": "+48221234567",
                "direction": "incoming",
                "state": "parked",
            },
        }
    }
).encode()


def _clock(value: float = NOW) -> float:
    return value


def _key_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _sign(private_key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private_key.sign(f"{timestamp}|".encode() + body)).decode()


@pytest.fixture
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    return _key_b64(private_key)


@pytest.fixture
def signature(private_key: Ed25519PrivateKey) -> str:
    return _sign(private_key, TIMESTAMP, BODY)


def _valid(public_key_b64: str, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    return telnyx_signature_valid(public_key_b64, body, signature, timestamp, now=lambda: NOW)


def test_valid_signature_passes(public_key_b64: str, signature: str) -> None:
    assert _valid(public_key_b64, BODY, signature, TIMESTAMP)


def test_empty_body_can_be_signed(private_key: Ed25519PrivateKey, public_key_b64: str) -> None:
    assert _valid(public_key_b64, b"", _sign(private_key, TIMESTAMP, b""), TIMESTAMP)


def test_tampered_body_fails(public_key_b64: str, signature: str) -> None:
    assert not _valid(public_key_b64, BODY.replace(b"+48601234567", b"+48601234568"), signature, TIMESTAMP)


def test_reformatted_body_fails(public_key_b64: str, signature: str) -> None:
    # The raw bytes are signed: the same JSON re-serialised is a different payload.
    reformatted = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert not _valid(public_key_b64, reformatted, signature, TIMESTAMP)


def test_tampered_timestamp_fails(public_key_b64: str, signature: str) -> None:
    assert not _valid(public_key_b64, BODY, signature, str(NOW + 1))


def test_timestamp_signed_as_received(private_key: Ed25519PrivateKey, public_key_b64: str) -> None:
    # "0…" parses to the same number, but it is not the string that was signed.
    signature = _sign(private_key, TIMESTAMP, BODY)
    assert not _valid(public_key_b64, BODY, signature, "0" + TIMESTAMP)


@pytest.mark.parametrize("age_s", [301, 3600, NOW])
def test_old_timestamp_fails(private_key: Ed25519PrivateKey, public_key_b64: str, age_s: int) -> None:
    old = str(NOW - age_s)
    assert not _valid(public_key_b64, BODY, _sign(private_key, old, BODY), old)


@pytest.mark.parametrize("ahead_s", [301, 86400])
def test_future_timestamp_fails(private_key: Ed25519PrivateKey, public_key_b64: str, ahead_s: int) -> None:
    future = str(NOW + ahead_s)
    assert not _valid(public_key_b64, BODY, _sign(private_key, future, BODY), future)


@pytest.mark.parametrize("offset_s", [-300, -1, 1, 300])
def test_timestamp_within_tolerance_passes(
    private_key: Ed25519PrivateKey, public_key_b64: str, offset_s: int
) -> None:
    timestamp = str(NOW + offset_s)
    assert _valid(public_key_b64, BODY, _sign(private_key, timestamp, BODY), timestamp)


def test_injected_clock_and_tolerance(private_key: Ed25519PrivateKey, public_key_b64: str) -> None:
    signature = _sign(private_key, TIMESTAMP, BODY)
    later = NOW + 20.5
    assert telnyx_signature_valid(public_key_b64, BODY, signature, TIMESTAMP, now=lambda: later)
    assert not telnyx_signature_valid(
        public_key_b64, BODY, signature, TIMESTAMP, now=lambda: later, tolerance_s=20
    )


def test_default_clock_is_real_time(private_key: Ed25519PrivateKey, public_key_b64: str) -> None:
    # NOW lies in the past of any machine running this test by far more than 300 s.
    signature = _sign(private_key, TIMESTAMP, BODY)
    assert not telnyx_signature_valid(public_key_b64, BODY, signature, TIMESTAMP)


def test_wrong_key_fails(signature: str) -> None:
    other = _key_b64(Ed25519PrivateKey.generate())
    assert not _valid(other, BODY, signature, TIMESTAMP)


def test_signature_from_other_key_fails(public_key_b64: str) -> None:
    forged = _sign(Ed25519PrivateKey.generate(), TIMESTAMP, BODY)
    assert not _valid(public_key_b64, BODY, forged, TIMESTAMP)


@pytest.mark.parametrize(
    "bad_signature",
    [
        "not base64 at all!",
        "żółw",
        "QUJD",  # valid base64, 3 bytes
        base64.b64encode(b"\x00" * 64).decode(),  # right length, not a signature
        base64.b64encode(b"\x00" * 65).decode(),
    ],
)
def test_garbage_signature_fails(public_key_b64: str, bad_signature: str) -> None:
    assert not _valid(public_key_b64, BODY, bad_signature, TIMESTAMP)


def test_signature_with_stray_characters_fails(public_key_b64: str, signature: str) -> None:
    # Lenient base64 decoding would skip the "!" and accept this.
    assert not _valid(public_key_b64, BODY, signature[:10] + "!" + signature[10:], TIMESTAMP)


@pytest.mark.parametrize(
    "bad_key",
    [
        "",
        "not base64 at all!",
        "żółw",
        base64.b64encode(b"\x01" * 31).decode(),
        base64.b64encode(b"\x01" * 33).decode(),
    ],
)
def test_unusable_public_key_fails(bad_key: str, signature: str) -> None:
    assert not _valid(bad_key, BODY, signature, TIMESTAMP)


@pytest.mark.parametrize("missing", [None, ""])
def test_missing_signature_header_fails(public_key_b64: str, missing: str | None) -> None:
    assert not _valid(public_key_b64, BODY, missing, TIMESTAMP)


@pytest.mark.parametrize("missing", [None, ""])
def test_missing_timestamp_header_fails(public_key_b64: str, signature: str, missing: str | None) -> None:
    assert not _valid(public_key_b64, BODY, signature, missing)


@pytest.mark.parametrize(
    "bad_timestamp",
    ["abc", "1764000000.0", "-1764000000", "+1764000000", " 1764000000", "1_764_000_000", "١٧٦٤", "9" * 5000],
)
def test_non_numeric_timestamp_fails(
    private_key: Ed25519PrivateKey, public_key_b64: str, bad_timestamp: str
) -> None:
    # Signed over the bad string itself, so only the timestamp check can reject it.
    signature = _sign(private_key, bad_timestamp, BODY)
    assert not _valid(public_key_b64, BODY, signature, bad_timestamp)


def test_public_key_is_cached(public_key_b64: str, signature: str) -> None:
    _load_public_key.cache_clear()
    assert _valid(public_key_b64, BODY, signature, TIMESTAMP)
    assert _valid(public_key_b64, BODY, signature, TIMESTAMP)
    info = _load_public_key.cache_info()
    assert (info.misses, info.hits) == (1, 1)
