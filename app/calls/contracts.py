"""What the call core hands on: the call as agents see it (in envelopes, cards, snapshots and the
call log), the words it is told in, and the port it publishes through.

A TypedDict, not a class: the view is built per event and handed to orjson as it is.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, unique
from typing import Protocol, TypedDict


@unique
class Provider(StrEnum):
    """Who reported the call: the `provider` of a call and of its events."""

    TWILIO = "twilio"
    TELNYX = "telnyx"
    CTI = "cti"
    PBX = "pbx"


@unique
class Direction(StrEnum):
    """Which way a call goes. Only inbound calls pop; outbound ones are logged."""

    IN = "in"
    OUT = "out"


# The functional form: `from` is a Python keyword.
CallView = TypedDict(
    "CallView",
    {
        "id": str,
        "provider": str,
        # The provider's own id (Twilio CallSid, Telnyx call_control_id, the PBX's callId): what an
        # operator quotes to the provider's support or finds in its console.
        "provider_call_id": str,
        "direction": str,
        "from_raw": str,
        "from": str | None,
        "from_display": str,
        "to": str,
        "line": str,
        # The store the line belonged to when the call came in (docs/stores.md).
        "store_id": str,
        "state": str,
        "end_cause": str | None,
        "started_at": str | None,
        "answered_at": str | None,
        "ended_at": str | None,
        "waiting_s": int | None,
        "talking_s": int | None,
        "answered_by": str | None,
        "customer_external_id": str | None,
        "customer_name": str | None,
        "match_status": str | None,
        "blocked": bool,
        "done": bool,
        "note": str | None,
        "disposition": str | None,
        "noted_by": str | None,
        # Whether the caller can be called back, and the link that does it
        # (RINGCARD_CALLBACK_URL_TEMPLATE); false and None for withheld and invalid callers.
        "callable": bool,
        "callback_url": str | None,
    },
)


class Publisher(Protocol):
    """Where call events go to agents (app/push's hub)."""

    async def publish_call_event(
        self,
        event_type: str,
        call: CallView,
        card: bytes | None,
        line: str,
        *,
        seq: int | None = None,
        at: datetime | None = None,
    ) -> int | None: ...
