"""Telnyx Call Control end to end: events signed with a real Ed25519 key reach a running server,
pop the caller's card, and end in the right state whatever order and however often they come;
unsigned, tampered or stale requests change nothing."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import HTTPException

import app.calls.intake as intake_module
from app.calls.events import CallState, EventKind
from app.main import create_app
from app.telephony.telnyx.routes import hangup_outcome, parse_event
from tests.conftest import make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    agent_socket,
    create_agent,
    event_of,
    serve,
)
from tests.telephony.test_twilio_calls import store_anna

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

LINE = "+48221234567"
CALLER = "+48601234567"
PRIVATE_KEY = Ed25519PrivateKey.generate()
PUBLIC_KEY = base64.b64encode(PRIVATE_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


class Clock:
    """The server's clock: real time unless a test pins it."""

    def __init__(self) -> None:
        self.pinned: float | None = None

    def __call__(self) -> float:
        return time.time() if self.pinned is None else self.pinned


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def served(database_url: str, clock: Clock) -> AsyncIterator[Served]:
    app = create_app(make_settings(database_url, telnyx_public_key=PUBLIC_KEY))
    app.state.clock = clock
    async with serve(app) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


def event(
    event_type: str,
    event_id: str,
    call: str,
    at: datetime,
    *,
    direction: str | None = "incoming",
    **payload: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_control_id": f"v3:{call}",
        "call_leg_id": f"leg-{call}",
        "call_session_id": f"session-{call}",
        "connection_id": "1494404757140276705",
        "from": CALLER,
        "to": LINE,
        "state": event_type.removeprefix("call."),
        **payload,
    }
    if direction is not None:
        body["direction"] = direction
    return {
        "data": {
            "record_type": "event",
            "event_type": event_type,
            "id": event_id,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "payload": body,
        },
        "meta": {"attempt": 1, "delivered_to": "https://ringcard.example/webhooks/telnyx"},
    }


def signed(body: bytes, timestamp: int | None = None, key: Ed25519PrivateKey = PRIVATE_KEY) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + b"|" + body)
    return {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": stamp,
        "content-type": "application/json",
    }


async def post(http: httpx.AsyncClient, body: dict[str, Any], **sign: Any) -> httpx.Response:
    raw = orjson.dumps(body)
    return await http.post("/webhooks/telnyx", content=raw, headers=signed(raw, **sign))


async def call_log(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    calls: list[dict[str, Any]] = answer.json()
    return calls


async def test_an_incoming_call_pops_the_callers_card(served: Served, http: httpx.AsyncClient) -> None:
    await store_anna(http)
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        answer = await post(http, event("call.initiated", "ev-1", "c1", T0))
        assert answer.status_code == 204 and answer.content == b""
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
    assert pop["card"]["customer"]["name"] == "Anna Nowak"
    assert pop["card"]["match"]["status"] == "exact"
    assert pop["call"]["provider"] == "telnyx" and pop["call"]["from"] == CALLER
    assert pop["call"]["direction"] == "in" and pop["call"]["line"] == LINE


@pytest.mark.parametrize("order", ["in order", "hang-up first"])
async def test_answer_and_hangup_in_any_order_and_twice_end_completed_with_durations(
    served: Served, http: httpx.AsyncClient, order: str
) -> None:
    token = await create_agent(http, "ola", [LINE])
    initiated = event("call.initiated", "ev-10", "c10", T0)
    answered = event("call.answered", "ev-11", "c10", T0 + timedelta(seconds=5), direction=None)
    hangup = event(
        "call.hangup",
        "ev-12",
        "c10",
        T0 + timedelta(seconds=47),
        direction=None,
        hangup_cause="normal_clearing",
        hangup_source="caller",
        sip_hangup_cause="unspecified",
        start_time=T0.isoformat(),
    )
    steps = [initiated, answered, answered, hangup, hangup, initiated]
    if order == "hang-up first":
        steps = [initiated, hangup, hangup, answered, answered, initiated]
    async with agent_socket(served.ws_url, token) as agent:
        for body in steps:
            assert (await post(http, body)).status_code == 204
        call_id = (await agent.until(lambda m: m.get("type") == "call.ringing"))["call_id"]
        final = await agent.until(
            lambda m: event_of(call_id, "call.ended")(m) and m["call"]["state"] == "completed"
        )
    assert final["call"]["talking_s"] == 42 and final["call"]["waiting_s"] == 5
    await served.on_server(served.app.state.intake.drain())
    [call] = await call_log(http, token)
    assert (call["state"], call["talking_s"], call["waiting_s"], call["done"]) == ("completed", 42, 5, True)
    assert call["started_at"].startswith(T0.isoformat()[:19])


async def test_a_slow_lookup_is_not_overtaken_by_the_calls_answer_and_hangup(
    served: Served, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ringing dispatch looks the caller up before it publishes; the answer and hang-up need
    no lookup. On a loaded machine the lookup took longer than the next two webhooks, their
    envelopes went out first with higher seqs, and the hub dropped the ringing one (and its card)
    as stale: the test above then timed out waiting for call.ringing, 2 runs in 8 on PostgreSQL.
    A lookup made slow on purpose shows it every time."""
    real_build_card = intake_module.build_card

    async def slow_build_card(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return await real_build_card(*args, **kwargs)

    monkeypatch.setattr(intake_module, "build_card", slow_build_card)
    await store_anna(http)
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        for body in (
            event("call.initiated", "ev-15", "c15", T0),
            event("call.answered", "ev-16", "c15", T0 + timedelta(seconds=3), direction=None),
            event("call.hangup", "ev-17", "c15", T0 + timedelta(seconds=30), direction=None),
        ):
            assert (await post(http, body)).status_code == 204
        await agent.until(lambda m: m.get("type") == "call.ended")
    pushed = [m for m in agent.received if m["type"] != "snapshot"]
    assert [(m["type"], m["seq"]) for m in pushed] == [
        ("call.ringing", 1),
        ("call.answered", 2),
        ("call.ended", 3),
    ]
    # Every envelope carries the card the ringing one looked up.
    assert all(m["card"]["customer"]["name"] == "Anna Nowak" for m in pushed)


@pytest.mark.parametrize(
    ("cause", "state", "todo"),
    [
        ("originator_cancel", "missed", True),
        ("no_answer", "missed", True),
        ("user_busy", "busy", False),
        ("call_rejected", "failed", False),
    ],
)
async def test_an_unanswered_call_ends_as_its_hangup_cause_says(
    served: Served, http: httpx.AsyncClient, cause: str, state: str, todo: bool
) -> None:
    token = await create_agent(http, "ola", [LINE])
    await post(http, event("call.initiated", "ev-20", "c20", T0))
    hangup = event("call.hangup", "ev-21", "c20", T0 + timedelta(seconds=20), hangup_cause=cause)
    assert (await post(http, hangup)).status_code == 204
    await served.on_server(served.app.state.intake.drain())
    [call] = await call_log(http, token)
    assert call["state"] == state and call["done"] is (not todo)


async def test_an_outgoing_leg_is_logged_but_not_popped(served: Served, http: httpx.AsyncClient) -> None:
    token = await create_agent(http, "ola", ["*"])
    async with agent_socket(served.ws_url, token) as agent:
        outgoing = event("call.initiated", "ev-30", "c30", T0, direction="outgoing", to=CALLER)
        outgoing["data"]["payload"]["from"] = LINE
        assert (await post(http, outgoing)).status_code == 204
        await served.on_server(served.app.state.intake.drain())
        await agent.send({"type": "ping"})
        assert (await agent.next())["type"] == "pong"  # nothing was pushed before the pong
    [call] = await call_log(http, token)
    assert call["direction"] == "out" and call["state"] == "ringing"


@pytest.mark.parametrize("tamper", ["body", "key", "no signature", "no timestamp", "old", "future"])
async def test_bad_signatures_and_stale_timestamps_are_refused_and_change_nothing(
    served: Served, http: httpx.AsyncClient, clock: Clock, tamper: str
) -> None:
    token = await create_agent(http, "ola", [LINE])
    clock.pinned = 1_800_000_000
    raw = orjson.dumps(event("call.initiated", "ev-40", "c40", T0))
    headers = signed(raw, timestamp=1_800_000_000)
    if tamper == "body":
        raw = raw.replace(CALLER.encode(), b"+48500000000")
    elif tamper == "key":
        headers = signed(raw, timestamp=1_800_000_000, key=Ed25519PrivateKey.generate())
    elif tamper == "no signature":
        del headers["telnyx-signature-ed25519"]
    elif tamper == "no timestamp":
        del headers["telnyx-timestamp"]
    elif tamper == "old":
        headers = signed(raw, timestamp=1_800_000_000 - 301)
    else:
        headers = signed(raw, timestamp=1_800_000_000 + 301)
    async with agent_socket(served.ws_url, token) as agent:
        answer = await http.post("/webhooks/telnyx", content=raw, headers=headers)
        assert answer.status_code == 401
        await served.on_server(served.app.state.intake.drain())
        await agent.send({"type": "ping"})
        assert (await agent.next())["type"] == "pong"
    assert await call_log(http, token) == []


async def test_the_injected_clock_decides_what_is_fresh(
    served: Served, http: httpx.AsyncClient, clock: Clock
) -> None:
    token = await create_agent(http, "ola", [LINE])
    clock.pinned = 1_800_000_000
    raw = orjson.dumps(event("call.initiated", "ev-41", "c41", T0))
    on_the_edge = await http.post("/webhooks/telnyx", content=raw, headers=signed(raw, 1_800_000_000 - 300))
    assert on_the_edge.status_code == 204
    await served.on_server(served.app.state.intake.drain())
    assert len(await call_log(http, token)) == 1


async def test_other_event_types_are_acknowledged_and_ignored(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    for event_type in ("call.bridged", "call.playback.started", "call.machine.detection.ended"):
        assert (await post(http, event(event_type, f"ev-{event_type}", "c50", T0))).status_code == 204
    await served.on_server(served.app.state.intake.drain())
    assert await call_log(http, token) == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "the body must be a JSON object"),
        (b'{"meta": {}}', "data must be a JSON object"),
        (b'{"data": {"id": "x"}}', "missing data.event_type"),
        (b'{"data": {"event_type": "call.initiated", "occurred_at": "2026-01-01T00:00:00Z"}}', "data.id"),
        (b'{"data": {"event_type": "call.hangup", "id": "x", "payload": {}}}', "data.occurred_at"),
        (
            b'{"data": {"event_type": "call.answered", "id": "x", "occurred_at": "yesterday",'
            b' "payload": {}}}',
            "data.occurred_at",
        ),
        (
            b'{"data": {"event_type": "call.answered", "id": "x", "occurred_at": "2026-01-01T00:00:00Z"}}',
            "data.payload must be a JSON object",
        ),
        (
            b'{"data": {"event_type": "call.answered", "id": "x", "occurred_at": "2026-01-01T00:00:00Z",'
            b' "payload": {"from": "+48601234567"}}}',
            "data.payload.call_control_id",
        ),
        (
            b'{"data": {"event_type": "call.initiated", "id": "x", "occurred_at": "2026-01-01T00:00:00Z",'
            b' "payload": {"call_control_id": "v3:1", "direction": "sideways"}}}',
            "data.payload.direction",
        ),
    ],
)
async def test_malformed_events_get_422_naming_the_field(
    served: Served, http: httpx.AsyncClient, body: bytes, named: str
) -> None:
    answer = await http.post("/webhooks/telnyx", content=body, headers=signed(body))
    assert answer.status_code == 422
    assert named in answer.json()["detail"]


async def test_telnyx_is_off_without_a_public_key(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        raw = orjson.dumps(event("call.initiated", "ev-60", "c60", T0))
        answer = await client.post("/webhooks/telnyx", content=raw, headers=signed(raw))
    assert answer.status_code == 404


# --- the mapping, without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        ("normal_clearing", (None, None)),
        ("", (None, None)),
        ("unspecified", (None, None)),
        ("originator_cancel", (None, "originator_cancel")),
        ("timeout", (None, "timeout")),
        ("no_answer", (None, "no_answer")),
        ("time_limit", (None, "time_limit")),
        ("user_busy", (CallState.BUSY, "busy")),
        ("USER_BUSY", (CallState.BUSY, "busy")),
        ("call_rejected", (CallState.FAILED, "call_rejected")),
        ("unallocated_number", (CallState.FAILED, "unallocated_number")),
        ("not_found", (CallState.FAILED, "not_found")),
        ("something_new", (None, "something_new")),
    ],
)
def test_hangup_causes_map_to_outcomes(cause: str, outcome: tuple[CallState | None, str | None]) -> None:
    assert hangup_outcome(cause) == outcome


def test_a_parsed_event_keys_on_the_event_id_and_names_the_leg() -> None:
    parsed = parse_event(orjson.dumps(event("call.initiated", "ev-70", "c70", T0)))
    assert parsed is not None
    assert (parsed.provider, parsed.provider_call_id, parsed.kind) == ("telnyx", "v3:c70", EventKind.RINGING)
    assert parsed.key() == "ev-70" and parsed.at == T0 and parsed.direction == "in"
    assert (parsed.from_raw, parsed.to_raw) == (CALLER, LINE)
    assert parse_event(orjson.dumps(event("call.bridged", "ev-71", "c70", T0))) is None
    with pytest.raises(HTTPException):
        parse_event(b"")
