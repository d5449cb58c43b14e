"""Our id of a call, derived from the provider's: known before the database answers (TwiML needs
it at once) and the same on every instance that sees the call."""

from __future__ import annotations

import hashlib


def call_id_for(provider: str, provider_call_id: str) -> str:
    return hashlib.blake2b(f"{provider}:{provider_call_id}".encode(), digest_size=10).hexdigest()
