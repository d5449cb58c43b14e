"""Call back: every call view and every card's caller says whether the caller can be called back
and with which link (RINGCARD_CALLBACK_URL_TEMPLATE, `tel:{e164}` by default). Withheld and invalid
callers are shown, never given a link."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from app.calls.contracts import Provider
from app.calls.events import CallEvent, EventKind, parties_of
from app.calls.recording import new_call
from app.calls.views import call_json
from app.card.build import card_without_store
from app.card.links import Links
from app.main import create_app
from app.settings import Settings
from tests.card.test_matching import lookup
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, agent_socket, create_agent, serve
from tests.telephony.test_twilio_calls import LINE, TOKEN, incoming, status_update, twilio_post

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
pytestmark = LEGACY_WEBSOCKETS_WARNINGS


def links(template: str | None = None) -> Links:
    over = {} if template is None else {"callback_url_template": template}
    return Links.from_settings(Settings(_env_file=None, **over))  # type: ignore[call-arg]


def view_of(caller: str, template: str | None = None) -> tuple[bool, str | None]:
    event = CallEvent(
        provider=Provider.CTI,
        provider_call_id="c-1",
        kind=EventKind.RINGING,
        at=AT,
        from_raw=caller,
        to_raw="+48 22 123 45 67",
    )
    parties = parties_of(event, "PL")
    view = call_json(new_call(event, parties, AT), "PL", links=links(template), heard=parties.caller)
    card = card_without_store(parties.caller, links(template))
    # The card's caller and the call agree.
    assert (card["caller"]["callable"], card["caller"]["callback_url"]) == (
        view["callable"],
        view["callback_url"],
    )
    return view["callable"], view["callback_url"]


@pytest.mark.parametrize(
    ("caller", "template", "expected"),
    [
        ("601 234 567", None, (True, "tel:+48601234567")),
        ("+48 601 234 567", "sip:{e164}@pbx.example", (True, "sip:+48601234567@pbx.example")),
        ("0048601234567", "callto:{digits}", (True, "callto:48601234567")),
        # A web link: `+` would read as a space in a query, so it is encoded.
        (
            "+48601234567",
            "https://crm.example/dial?to={e164}&national={national}",
            (True, "https://crm.example/dial?to=%2B48601234567&national=601234567"),
        ),
        ("", None, (False, None)),  # withheld: no caller id at all
        ("anonymous", "sip:{e164}@pbx.example", (False, None)),
        ("12", None, (False, None)),  # not a number anyone can dial
        ("sales desk", None, (False, None)),
    ],
    ids=["e164-tel", "sip", "callto-digits", "https", "withheld", "anonymous", "too-short", "not-a-phone"],
)
def test_the_call_back_link_of_a_caller(
    caller: str, template: str | None, expected: tuple[bool, str | None]
) -> None:
    assert view_of(caller, template) == expected


async def test_a_looked_up_card_carries_the_configured_call_back_link(database_url: str) -> None:
    app = create_app(make_settings(database_url, callback_url_template="sips:{e164}@pbx.example;user=phone"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            card = await lookup(client, "601 234 567")
            withheld = await lookup(client, "anonymous")
    assert (card["caller"]["callable"], card["caller"]["callback_url"]) == (
        True,
        "sips:+48601234567@pbx.example;user=phone",
    )
    assert (withheld["caller"]["callable"], withheld["caller"]["callback_url"]) == (False, None)


async def test_missed_calls_say_whom_an_agent_can_call_back_live_and_in_the_log(database_url: str) -> None:
    """Through Twilio, as agents get the calls: the live envelope's call and card, and the call
    log's missed calls to do, carry the configured link; a withheld caller is shown without one."""
    app = create_app(
        make_settings(database_url, twilio_auth_token=TOKEN, callback_url_template="sip:{e164}@pbx.example")
    )
    async with serve(app) as served, httpx.AsyncClient(base_url=served.http_url) as http:
        token = await create_agent(http, "ola", [LINE])
        async with agent_socket(served.ws_url, token) as agent:
            await twilio_post(http, "/webhooks/twilio/voice", incoming("CA1", "+48601234567"))
            ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
            await twilio_post(http, "/webhooks/twilio/voice", incoming("CA2", "anonymous"))
            hidden = await agent.until(
                lambda m: m.get("type") == "call.ringing" and m["call"]["provider_call_id"] == "CA2"
            )
        for sid, sequence in (("CA1", 1), ("CA2", 1)):
            await twilio_post(http, "/webhooks/twilio/status", status_update(sid, "no-answer", sequence))
        todo = await http.get(
            "/api/v1/calls", params={"todo": "true"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert (ringing["call"]["callable"], ringing["call"]["callback_url"]) == (
        True,
        "sip:+48601234567@pbx.example",
    )
    assert ringing["card"]["caller"]["callback_url"] == "sip:+48601234567@pbx.example"
    assert (hidden["call"]["callable"], hidden["call"]["callback_url"]) == (False, None)
    assert todo.status_code == 200, todo.text
    assert {c["provider_call_id"]: (c["callable"], c["callback_url"]) for c in todo.json()} == {
        "CA1": (True, "sip:+48601234567@pbx.example"),
        "CA2": (False, None),
    }
