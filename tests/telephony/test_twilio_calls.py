"""Twilio calls end to end: a signed webhook to a running server pops the right card on an
agent's socket; status callbacks in any order end in the right state; the call log keeps it."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
from twilio.request_validator import RequestValidator

from app.main import create_app
from tests.conftest import SYNC, make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    agent_socket,
    create_agent,
    event_of,
    serve,
)
from tests.fixtures.store_records import case, customer, order

TOKEN = "twilio-auth-token-for-tests"
LINE = "+48221234567"
pytestmark = LEGACY_WEBSOCKETS_WARNINGS


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(make_settings(database_url, twilio_auth_token=TOKEN))) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


async def twilio_post(
    http: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    sign_url: str | None = None,
) -> httpx.Response:
    url = f"{http.base_url}{path}".replace("//webhooks", "/webhooks")
    signature = RequestValidator(token).compute_signature(sign_url or url, params)
    return await http.post(path, data=params, headers={"X-Twilio-Signature": signature})


def incoming(call_sid: str, caller: str = "+48601234567") -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": caller,
        "To": LINE,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "Caller": caller,
        "Called": LINE,
    }


def status_update(call_sid: str, call_status: str, sequence: int, **extra: str) -> dict[str, str]:
    return {**incoming(call_sid), "CallStatus": call_status, "SequenceNumber": str(sequence), **extra}


async def store_anna(http: httpx.AsyncClient) -> None:
    for path, body in (
        ("/api/v1/customers/c-1", customer(phones=[{"number": "601 234 567", "kind": "mobile"}])),
        ("/api/v1/orders/o-1", order("#1042", "129.00", status="shipped")),
        ("/api/v1/cases/C-88", case(order_external_id="o-1")),
    ):
        assert (await http.put(path, json=body, headers=SYNC)).status_code == 200


async def test_a_signed_incoming_call_pops_the_callers_card_on_the_agents_socket(
    served: Served, http: httpx.AsyncClient
) -> None:
    await store_anna(http)
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        started = time.perf_counter()
        answer = await twilio_post(http, "/webhooks/twilio/voice", incoming("CA100"))
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        twiml = ET.fromstring(answer.text)  # noqa: S314 - our own answer
        assert [c.findtext("Identity") for c in twiml.iter("Client")] == ["ola"]
        assert twiml.find(".//Parameter").get("name") == "ringcard_call_id"  # type: ignore[union-attr]

        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
        elapsed = time.perf_counter() - started
        card = pop["card"]
        assert card["customer"]["name"] == "Anna Nowak"
        assert card["match"]["status"] == "exact"
        assert card["likely_reason"]["text"] == "Probably about complaint C-88 on order #1042"
        assert pop["call"]["from"] == "+48601234567" and pop["call"]["state"] == "ringing"
        assert pop["call_id"] == twiml.find(".//Parameter").get("value")  # type: ignore[union-attr]
        assert elapsed < 1.0


async def test_status_callbacks_out_of_order_and_twice_end_completed_with_durations(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        await twilio_post(http, "/webhooks/twilio/voice", incoming("CA200"))
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        call_id = ringing["call_id"]
        answered_at = "Mon, 23 Nov 2026 10:00:05 +0000"
        ended = status_update(
            "CA200", "completed", 3, CallDuration="42", Timestamp="Mon, 23 Nov 2026 10:00:47 +0000"
        )
        answered = status_update("CA200", "in-progress", 2, Timestamp=answered_at)
        for params in (ended, ended, answered, answered, status_update("CA200", "ringing", 1)):
            response = await twilio_post(http, "/webhooks/twilio/status", params)
            assert response.status_code == 204
        final = await agent.until(event_of(call_id, "call.ended"))
        assert final["call"]["state"] == "completed" and final["call"]["talking_s"] == 42

    calls = (await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})).json()
    assert len(calls) == 1
    assert calls[0]["state"] == "completed" and calls[0]["talking_s"] == 42 and calls[0]["done"] is True


async def test_a_missed_call_stays_to_do_and_its_note_shows_on_the_next_card(
    served: Served, http: httpx.AsyncClient
) -> None:
    await store_anna(http)
    token = await create_agent(http, "ola", [LINE])
    auth = {"Authorization": f"Bearer {token}"}
    await twilio_post(http, "/webhooks/twilio/voice", incoming("CA300"))
    await twilio_post(http, "/webhooks/twilio/status", status_update("CA300", "no-answer", 1))
    await served.on_server(served.app.state.intake.drain())
    todo = (await http.get("/api/v1/calls", params={"todo": "true"}, headers=auth)).json()
    assert [(c["state"], c["customer_name"]) for c in todo] == [("missed", "Anna Nowak")]

    saved = await http.post(
        f"/api/v1/calls/{todo[0]['id']}/note",
        json={"text": "Promised a refund", "disposition": "callback"},
        headers=auth,
    )
    assert saved.status_code == 200 and saved.json()["note"] == "Promised a refund"
    done = await http.post(f"/api/v1/calls/{todo[0]['id']}/done", headers=auth)
    assert done.json() == {"marked": 1}
    assert (await http.get("/api/v1/calls", params={"todo": "true"}, headers=auth)).json() == []

    card = (await http.get("/api/v1/lookup", params={"number": "+48601234567"}, headers=auth)).json()
    assert card["recent_calls"][0]["note"] == "Promised a refund"
    assert card["recent_calls"][0]["state"] == "missed" and card["recent_calls"][0]["noted_by"] == "Ola"


async def test_all_missed_calls_can_be_marked_done_at_once(served: Served, http: httpx.AsyncClient) -> None:
    token = await create_agent(http, "ola", [LINE])
    auth = {"Authorization": f"Bearer {token}"}
    for sid in ("CA401", "CA402", "CA403"):
        await twilio_post(http, "/webhooks/twilio/voice", incoming(sid))
        await twilio_post(http, "/webhooks/twilio/status", status_update(sid, "canceled", 1))
    await served.on_server(served.app.state.intake.drain())
    assert len((await http.get("/api/v1/calls", params={"todo": "true"}, headers=auth)).json()) == 3
    bulk = await http.post("/api/v1/calls/done", json={"all_missed": True}, headers=auth)
    assert bulk.json() == {"marked": 3}
    empty = await http.post("/api/v1/calls/done", json={}, headers=auth)
    assert empty.status_code == 422


@pytest.mark.parametrize(
    "tamper",
    ["field", "url", "token", "header"],
)
async def test_unsigned_or_tampered_requests_are_refused_and_change_nothing(
    served: Served, http: httpx.AsyncClient, tamper: str
) -> None:
    token = await create_agent(http, "ola", [LINE])
    params = incoming("CA500")
    url = f"{served.http_url}/webhooks/twilio/voice"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    headers: dict[str, str] = {"X-Twilio-Signature": signature}
    if tamper == "field":
        params = {**params, "From": "+48500000000"}
    elif tamper == "url":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(url + "?x=1", params)
    elif tamper == "token":
        headers["X-Twilio-Signature"] = RequestValidator("another-token").compute_signature(url, params)
    else:
        headers = {}
    async with agent_socket(served.ws_url, token) as agent:
        answer = await http.post("/webhooks/twilio/voice", data=params, headers=headers)
        assert answer.status_code == 401
        await served.on_server(served.app.state.intake.drain())
        assert (await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})).json() == []
        await agent.send({"type": "ping"})
        assert (await agent.next())["type"] == "pong"  # nothing was pushed before the pong


async def test_twilio_is_off_without_an_auth_token(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        answer = await client.post("/webhooks/twilio/voice", data=incoming("CA1"))
    assert answer.status_code == 404


async def test_twiml_answers_at_once_even_with_the_database_down() -> None:
    dead = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"
    app = create_app(make_settings(dead, twilio_auth_token=TOKEN, secret_key="k" * 40))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            params = incoming("CA600")
            signature = RequestValidator(TOKEN).compute_signature("http://t/webhooks/twilio/voice", params)
            started = time.perf_counter()
            answer = await client.post(
                "/webhooks/twilio/voice", data=params, headers={"X-Twilio-Signature": signature}
            )
            elapsed = time.perf_counter() - started
        await app.state.intake.drain()
    assert answer.status_code == 200 and elapsed < 2.0
    twiml = ET.fromstring(answer.text)  # noqa: S314 - our own answer
    assert twiml.tag == "Response" and len(twiml) > 0


async def test_a_status_callback_racing_its_own_ringing_webhook_is_never_refused(
    served: Served, http: httpx.AsyncClient
) -> None:
    # The voice webhook answers before its event is written; a status callback right behind it
    # may look for the call before the ringing insert commits, and then insert it too.
    token = await create_agent(http, "ola", [LINE])
    sids = [f"CA-race-{i}" for i in range(30)]

    async def both(sid: str) -> tuple[int, int]:
        voice, answered = await asyncio.gather(
            twilio_post(http, "/webhooks/twilio/voice", incoming(sid)),
            twilio_post(http, "/webhooks/twilio/status", status_update(sid, "in-progress", 1)),
        )
        return voice.status_code, answered.status_code

    assert await asyncio.gather(*(both(sid) for sid in sids)) == [(200, 204)] * len(sids)
    await served.on_server(served.app.state.intake.drain())
    calls = (await http.get("/api/v1/calls?limit=100", headers={"Authorization": f"Bearer {token}"})).json()
    items = calls["items"] if isinstance(calls, dict) else calls
    assert len(items) == len(sids)
    assert {call["state"] for call in items} == {"answered"}
