"""The call core's typed contracts: whom an event names is normalised once, where the adapter hands
it over (`parties_of`), and reused by the call's row, its view and its card; the card a call pops
with is built complete, never edited; the codes serialise as the strings agents always got."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from app.calls.contracts import CallView, Direction, Provider
from app.calls.events import CallEvent, EventKind, Parties, parties_of
from app.calls.recording import new_call
from app.calls.views import call_json, logged_caller
from app.card.build import card_without_store, with_call
from app.card.contracts import Card, ReasonCode
from app.card.links import Links
from app.kit.phones import normalise
from app.settings import Settings

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LINKS = Links.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def ringing(**fields: object) -> CallEvent:
    values: dict[str, object] = {
        "provider": Provider.CTI,
        "provider_call_id": "c-1",
        "kind": EventKind.RINGING,
        "at": AT,
        "from_raw": "601 234 567",
        "to_raw": "+48 22 123 45 67",
    }
    values.update(fields)
    return CallEvent(**values)  # type: ignore[arg-type]


def test_an_inbound_event_names_its_caller_and_the_dialled_line() -> None:
    parties = parties_of(ringing(), "PL")
    assert parties == Parties(normalise("601 234 567", "PL"), "+48221234567")
    assert parties.caller.e164 == "+48601234567"
    # A PBX queue names the line when the event gives one.
    assert parties_of(ringing(line=" sales "), "PL").line == "sales"


def test_an_outbound_calls_line_is_the_number_it_is_placed_from() -> None:
    parties = parties_of(ringing(direction=Direction.OUT, from_raw="+48 22 123 45 67", to_raw="601"), "PL")
    assert parties.line == "+48221234567"


def test_an_event_naming_no_line_leaves_it_empty() -> None:
    assert parties_of(ringing(from_raw="", to_raw=""), "PL").line == ""


def test_the_caller_an_adapter_already_normalised_is_the_one_handed_on() -> None:
    caller = normalise("601 234 567", "PL")
    assert parties_of(ringing(), "PL", caller=caller).caller is caller


def test_the_row_and_the_view_reuse_the_caller_normalised_at_the_adapter() -> None:
    event = ringing()
    parties = parties_of(event, "PL")
    call = new_call(event, parties, AT)
    assert (call.from_e164, call.line, call.from_raw) == ("+48601234567", "+48221234567", "601 234 567")
    assert logged_caller(call, "PL", parties.caller) is parties.caller
    assert call_json(call, "PL", links=LINKS, heard=parties.caller)["from_display"] == "+48 601 234 567"


def test_a_number_the_log_cut_to_its_column_is_shown_as_the_log_keeps_it() -> None:
    event = ringing(from_raw="4" * 300)
    parties = parties_of(event, "PL")
    call = new_call(event, parties, AT)
    assert len(call.from_raw) == 255 and logged_caller(call, "PL", parties.caller) is not parties.caller
    view = call_json(call, "PL", links=LINKS, heard=parties.caller)
    assert view == call_json(call, "PL", links=LINKS)  # exactly what the call log shows for it


def test_the_view_names_the_match_of_the_card_just_built() -> None:
    event = ringing()
    parties = parties_of(event, "PL")
    call = new_call(event, parties, AT)
    card = card_without_store(parties.caller, LINKS)
    view = call_json(call, "PL", links=LINKS, heard=parties.caller, matched=card)
    assert (view["customer_external_id"], view["customer_name"], view["match_status"]) == (
        None,
        None,
        "unavailable",
    )
    assert list(view) == list(CallView.__annotations__)


def test_the_card_a_call_pops_with_is_a_new_card_with_the_call_first() -> None:
    event = ringing()
    parties = parties_of(event, "PL")
    looked_up = card_without_store(parties.caller, LINKS)
    before = orjson.dumps(looked_up)
    view = call_json(new_call(event, parties, AT), "PL", links=LINKS, heard=parties.caller)
    popped = with_call(looked_up, view)
    assert orjson.dumps(looked_up) == before and looked_up["call"] is None
    assert list(popped) == list(Card.__annotations__) and popped["call"] is view
    # Byte for byte what setting the call on the looked-up card used to give.
    edited = dict(looked_up)
    edited["call"] = view
    assert orjson.dumps(popped) == orjson.dumps(edited)


def test_codes_travel_as_the_strings_agents_always_got() -> None:
    assert orjson.dumps([ReasonCode.WHERE_IS_MY_ORDER, Provider.TWILIO, Direction.IN]) == (
        b'["where_is_my_order","twilio","in"]'
    )
