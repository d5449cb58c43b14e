"""How a call looks to agents: in envelopes, snapshots and the call log."""

from __future__ import annotations

from typing import Any

from app.calls.models import Call
from app.card.views import iso
from app.kit.phones import display, normalise


def call_json(call: Call, region: str) -> dict[str, Any]:
    return {
        "id": call.id,
        "provider": call.provider,
        # The provider's own id (Twilio CallSid, Telnyx call_control_id, the PBX's callId): what an
        # operator quotes to the provider's support or finds in its console.
        "provider_call_id": call.provider_call_id,
        "direction": call.direction,
        "from_raw": call.from_raw,
        "from": call.from_e164,
        "from_display": display(normalise(call.from_raw, region)),
        "to": call.to_raw,
        "line": call.line,
        "state": call.state,
        "end_cause": call.end_cause,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "waiting_s": call.waiting_s,
        "talking_s": call.talking_s,
        "answered_by": call.answered_by,
        "customer_external_id": call.customer_external_id,
        "customer_name": call.customer_name,
        "match_status": call.match_status,
        "blocked": call.blocked,
        "done": call.done,
        "note": call.note,
        "disposition": call.disposition,
        "noted_by": call.noted_by,
    }
