"""How a call looks to agents: in envelopes, cards, snapshots and the call log."""

from __future__ import annotations

from app.calls.contracts import CallView
from app.calls.models import Call
from app.card.contracts import Card
from app.card.links import Links
from app.card.views import iso
from app.kit.phones import NormalisedNumber, display, normalise
from app.stores.models import DEFAULT_STORE


def logged_caller(call: Call, region: str, heard: NormalisedNumber | None = None) -> NormalisedNumber:
    """The caller of the call as its row has them. `heard` is the caller as the adapter normalised
    it from the event at hand, reused when it is the number the row keeps (the usual case);
    otherwise (an event naming nobody, a number the log cut to its column, a row read back) the
    row's own number is normalised."""
    if heard is not None and heard.raw == call.from_raw:
        return heard
    return normalise(call.from_raw, region)


def call_json(
    call: Call,
    region: str,
    *,
    links: Links,
    heard: NormalisedNumber | None = None,
    matched: Card | None = None,
) -> CallView:
    """The call as agents see it. `matched`: the card just built for the call, whose match the
    view names before the log has it saved. `links` gives the call-back link of the caller."""
    if matched is None:
        customer_external_id, customer_name = call.customer_external_id, call.customer_name
        match_status: str | None = call.match_status
    else:
        customer = matched["customer"]
        customer_external_id = customer["external_id"] if customer is not None else None
        customer_name = customer["name"] if customer is not None else None
        match_status = matched["match"]["status"]
    caller = logged_caller(call, region, heard)
    callback_url = links.call_back(caller)
    return {
        "id": call.id,
        "provider": call.provider,
        "provider_call_id": call.provider_call_id,
        "direction": call.direction,
        "from_raw": call.from_raw,
        "from": call.from_e164,
        "from_display": display(caller),
        "to": call.to_raw,
        "line": call.line,
        "store_id": call.store_id or DEFAULT_STORE,
        "state": call.state,
        "end_cause": call.end_cause,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "waiting_s": call.waiting_s,
        "talking_s": call.talking_s,
        "answered_by": call.answered_by,
        "customer_external_id": customer_external_id,
        "customer_name": customer_name,
        "match_status": match_status,
        "blocked": call.blocked,
        "done": call.done,
        "note": call.note,
        "disposition": call.disposition,
        "noted_by": call.noted_by,
        # False for a withheld or invalid caller: shown in the missed calls, but nobody can call
        # them back.
        "callable": callback_url is not None,
        "callback_url": callback_url,
    }
