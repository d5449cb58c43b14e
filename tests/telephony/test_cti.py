"""The generic CTI protocol end to end (CTI.md): a PBX's newCall/answer/hangup requests, as form
fields or JSON, reach a running server, pop cards, fill the call log and answer the PBX's actions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.calls.events import CallState, EventKind
from app.main import create_app
from app.telephony.cti_routes import (
    CtiError,
    hangup_outcome,
    interpret,
    is_blocked,
    outbound_caller_id,
    parse_routes,
)
from tests.conftest import make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    AgentSocket,
    Served,
    agent_socket,
    create_agent,
    event_of,
    serve,
)
from tests.telephony.test_twilio_calls import store_anna

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

TOKEN = "cti-token-for-tests-0123456789"
LINE = "+48221234567"
CALLER = "+48601234567"
ROUTES = "41*=41715880339000,491714000000=41715880339000"
RULES: dict[str, Any] = {
    "cti_token": TOKEN,
    "cti_blocked_numbers": "+48 500 100 200, 0048 600 000 000",
    "cti_outbound_routes": ROUTES,
    "cti_default_caller_id": "+48221234567",
}
URL = f"/webhooks/cti/{TOKEN}"


class Clock:
    """The server's clock, moved by the test so waiting and talking times are known."""

    def __init__(self) -> None:
        self.now = time.time() - 600

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def served(database_url: str, clock: Clock) -> AsyncIterator[Served]:
    app = create_app(make_settings(database_url, **RULES))
    app.state.clock = clock
    async with serve(app) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


@pytest.fixture
async def agent_token(http: httpx.AsyncClient) -> str:
    return await create_agent(http, "ola", [LINE])


def fields(event: str, call_id: str, direction: str = "in", **extra: str | list[str]) -> dict[str, Any]:
    caller, called = (CALLER, LINE) if direction == "in" else ("201", CALLER)
    return {"event": event, "from": caller, "to": called, "direction": direction, "callId": call_id, **extra}


async def cti(http: httpx.AsyncClient, body: dict[str, Any], *, as_json: bool = False) -> httpx.Response:
    if as_json:
        return await http.post(URL, json=body)
    return await http.post(URL, data=body)


async def settled(served: Served, http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    await served.on_server(served.app.state.intake.drain())
    answer = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    calls: list[dict[str, Any]] = answer.json()
    return calls


async def nothing_pushed(agent: AgentSocket) -> None:
    await agent.send({"type": "ping"})
    assert (await agent.next())["type"] == "pong"


async def test_new_call_answer_hangup_pops_and_logs_a_completed_call(
    served: Served, http: httpx.AsyncClient, agent_token: str, clock: Clock
) -> None:
    await store_anna(http)
    async with agent_socket(served.ws_url, agent_token) as agent:
        answer = await cti(http, fields("newCall", "pbx-1", user=["ola", "ewa"]))
        assert (answer.status_code, answer.json()) == (200, {})
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
        assert pop["card"]["customer"]["name"] == "Anna Nowak" and pop["call"]["provider"] == "cti"
        clock.advance(7)
        assert (await cti(http, fields("answer", "pbx-1", user="ola", answeringNumber="201"))).json() == {}
        answered = await agent.until(event_of(pop["call_id"], "call.answered"))
        assert answered["call"]["answered_by"] == "ola"
        clock.advance(95)
        assert (await cti(http, fields("hangup", "pbx-1", cause="normalClearing"))).json() == {}
        ended = await agent.until(event_of(pop["call_id"], "call.ended"))
    assert ended["call"]["state"] == "completed"
    [call] = await settled(served, http, agent_token)
    assert (call["state"], call["answered_by"], call["waiting_s"], call["talking_s"]) == (
        "completed",
        "ola",
        7,
        95,
    )
    assert call["customer_name"] == "Anna Nowak" and call["done"] is True and call["direction"] == "in"


@pytest.mark.parametrize("cause", ["cancel", "noAnswer", "normalClearing", None])
async def test_an_unanswered_inbound_call_is_missed_and_stays_to_do(
    served: Served, http: httpx.AsyncClient, agent_token: str, clock: Clock, cause: str | None
) -> None:
    await cti(http, fields("newCall", "pbx-2"))
    clock.advance(20)
    await cti(http, fields("hangup", "pbx-2", **({"cause": cause} if cause else {})))
    [call] = await settled(served, http, agent_token)
    assert (call["state"], call["done"], call["waiting_s"]) == ("missed", False, 20)


async def test_voicemail_answering_is_a_missed_call(
    served: Served, http: httpx.AsyncClient, agent_token: str, clock: Clock
) -> None:
    await cti(http, fields("newCall", "pbx-3"))
    clock.advance(30)
    assert (await cti(http, fields("answer", "pbx-3", user="voicemail"))).json() == {}
    clock.advance(40)
    await cti(http, fields("hangup", "pbx-3", cause="normalClearing"))
    [call] = await settled(served, http, agent_token)
    assert (call["state"], call["end_cause"], call["done"]) == ("missed", "voicemail", False)


@pytest.mark.parametrize(
    ("cause", "state"),
    [("busy", "busy"), ("congestion", "failed"), ("notFound", "failed"), ("forwarded", "completed")],
)
async def test_hangup_causes_decide_how_the_call_ended(
    served: Served, http: httpx.AsyncClient, agent_token: str, cause: str, state: str
) -> None:
    await cti(http, fields("newCall", "pbx-4"))
    await cti(http, fields("hangup", "pbx-4", cause=cause))
    [call] = await settled(served, http, agent_token)
    assert call["state"] == state and call["done"] is True


@pytest.mark.parametrize("written", ["+48 500 100 200", "0048500100200", "500-100-200", "48500100200"])
async def test_a_blocked_caller_is_rejected_logged_as_blocked_and_not_popped(
    served: Served, http: httpx.AsyncClient, agent_token: str, written: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        answer = await cti(http, {**fields("newCall", "pbx-5"), "from": written})
        assert (answer.status_code, answer.json()) == (200, {"action": "reject", "reason": "busy"})
        again = await cti(http, {**fields("newCall", "pbx-5"), "from": written})
        assert again.json() == {"action": "reject", "reason": "busy"}
        assert (await cti(http, {**fields("hangup", "pbx-5", cause="busy"), "from": written})).json() == {}
        await served.on_server(served.app.state.intake.drain())
        await nothing_pushed(agent)
    [call] = await settled(served, http, agent_token)
    assert (call["blocked"], call["state"], call["end_cause"], call["done"]) == (
        True,
        "busy",
        "blocked",
        True,
    )
    assert call["from"] == "+48500100200"


async def test_an_anonymous_caller_pops_a_withheld_card(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        await cti(http, {**fields("newCall", "pbx-6"), "from": "anonymous"})
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
    assert pop["card"]["match"]["status"] == "withheld" and pop["card"]["customer"] is None
    assert pop["call"]["from_display"] == "Withheld number"


async def test_an_answer_after_the_hangup_changes_nothing(
    served: Served, http: httpx.AsyncClient, agent_token: str, clock: Clock
) -> None:
    await cti(http, fields("newCall", "pbx-7"))
    clock.advance(10)
    await cti(http, fields("hangup", "pbx-7", cause="normalClearing"))
    clock.advance(2)
    assert (await cti(http, fields("answer", "pbx-7", user="ola"))).json() == {}
    [call] = await settled(served, http, agent_token)
    assert (call["state"], call["answered_by"], call["done"]) == ("missed", None, False)


async def test_events_for_an_unknown_call_create_it_and_a_late_new_call_does_not_move_it_back(
    served: Served, http: httpx.AsyncClient, agent_token: str, clock: Clock
) -> None:
    assert (await cti(http, fields("hangup", "pbx-8", cause="noAnswer"))).json() == {}
    assert (await cti(http, fields("answer", "pbx-9", answeringNumber="202"))).json() == {}
    clock.advance(1)
    assert (await cti(http, fields("newCall", "pbx-8"))).json() == {}
    assert (await cti(http, fields("newCall", "pbx-9"))).json() == {}
    calls = await settled(served, http, agent_token)
    assert sorted((c["state"], c["answered_by"]) for c in calls) == [("answered", "202"), ("missed", None)]


async def test_a_repeated_new_call_is_a_duplicate(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        for _ in range(3):
            answer = await cti(http, fields("newCall", "pbx-10"))
            assert (answer.status_code, answer.json()) == (200, {})
        await agent.until(lambda m: m.get("type") == "call.ringing")
        await served.on_server(served.app.state.intake.drain())
        await nothing_pushed(agent)
    assert len(await settled(served, http, agent_token)) == 1


async def test_form_lists_and_json_bodies_both_work(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    form = (
        "event=newCall&from=%2B48601234567&to=%2B48221234567&direction=in&callId=pbx-11"
        "&user%5B%5D=ola&user%5B%5D=ewa"
    )
    sent = await http.post(URL, content=form, headers={"content-type": "application/x-www-form-urlencoded"})
    assert (sent.status_code, sent.json()) == (200, {})
    answered = {**fields("answer", "pbx-11"), "user[]": ["ola", "ewa"]}
    assert (await cti(http, answered)).json() == {}
    # JSON, with a numeric call id under its other name.
    body = {"event": "newCall", "from": CALLER, "to": LINE, "direction": "in", "call_id": 12}
    assert (await cti(http, body, as_json=True)).json() == {}
    json_answer = {"event": "answer", "direction": "in", "call_id": 12, "user": ["ewa"], "from": CALLER}
    assert (await cti(http, json_answer, as_json=True)).json() == {}
    # JSON without a content type, as some PBX scripts send it.
    raw = b'{"event": "hangup", "direction": "in", "callId": "12", "cause": "normalClearing"}'
    assert (await http.post(URL, content=raw)).json() == {}
    calls = sorted(await settled(served, http, agent_token), key=lambda c: c["answered_by"])
    assert [(c["answered_by"], c["state"]) for c in calls] == [("ewa", "completed"), ("ola, ewa", "answered")]


async def test_a_queue_is_the_calls_line(served: Served, http: httpx.AsyncClient) -> None:
    token = await create_agent(http, "kasia", ["support"])
    async with agent_socket(served.ws_url, token) as agent:
        await cti(http, fields("newCall", "pbx-12", queue="support"))
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
    assert pop["call"]["line"] == "support"


@pytest.mark.parametrize(
    ("to", "answer"),
    [
        ("+41 71 588 03 39", {"action": "dial", "caller_id": "41715880339000", "number": "+41 71 588 03 39"}),
        ("0041715880339", {"action": "dial", "caller_id": "41715880339000", "number": "0041715880339"}),
        ("491714000000", {"action": "dial", "caller_id": "41715880339000", "number": "491714000000"}),
        ("+48 601 234 567", {"action": "dial", "caller_id": "+48221234567", "number": "+48 601 234 567"}),
    ],
)
async def test_an_outbound_call_gets_its_caller_id_and_is_logged_without_a_pop(
    served: Served, http: httpx.AsyncClient, agent_token: str, to: str, answer: dict[str, str]
) -> None:
    everyone = await create_agent(http, "boss", ["*"])
    async with agent_socket(served.ws_url, everyone) as agent:
        sent = await cti(http, {**fields("newCall", "pbx-13", direction="out"), "to": to})
        assert (sent.status_code, sent.json()) == (200, answer)
        await served.on_server(served.app.state.intake.drain())
        await nothing_pushed(agent)
    [call] = await settled(served, http, agent_token)
    assert (call["direction"], call["to"], call["line"]) == ("out", to, "201")


async def test_without_routing_an_outbound_call_gets_no_action(database_url: str) -> None:
    app = create_app(make_settings(database_url, cti_token=TOKEN))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        sent = await client.post(URL, data=fields("newCall", "pbx-14", direction="out"))
        blocked_off = await client.post(URL, data={**fields("newCall", "pbx-15"), "from": "+48500100200"})
        await app.state.intake.drain()
    assert (sent.status_code, sent.json()) == (200, {})
    assert blocked_off.json() == {}


@pytest.mark.parametrize("token", ["wrong-token", TOKEN[:-1], TOKEN + "x", "%20"])
async def test_a_wrong_token_is_refused_and_changes_nothing(
    served: Served, http: httpx.AsyncClient, agent_token: str, token: str
) -> None:
    answer = await http.post(f"/webhooks/cti/{token}", data=fields("newCall", "pbx-16"))
    assert answer.status_code == 401 and answer.json()["error"]
    assert await settled(served, http, agent_token) == []


async def test_the_cti_is_off_without_a_token(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        answer = await client.post(URL, data=fields("newCall", "pbx-17"))
    assert answer.status_code == 404 and "RINGCARD_CTI_TOKEN" in answer.json()["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"direction": "sideways"}, "Invalid 'direction'!"),
        ({"direction": ""}, "Invalid 'direction'!"),
        ({"event": "transfer"}, "Invalid 'event' 'transfer'! Use newCall, answer or hangup."),
        ({"event": ""}, "Invalid 'event'! Use newCall, answer or hangup."),
        ({"callId": ""}, "Missing 'callId'!"),
        ({"callId": "x" * 256}, "'callId' is longer than 255 characters!"),
    ],
)
async def test_bad_requests_get_422_with_a_clear_error(
    served: Served, http: httpx.AsyncClient, agent_token: str, body: dict[str, str], error: str
) -> None:
    answer = await cti(http, {**fields("newCall", "pbx-18"), **body})
    assert (answer.status_code, answer.json()) == (422, {"error": error})
    assert await settled(served, http, agent_token) == []


@pytest.mark.parametrize(
    ("raw", "content_type", "error"),
    [
        (b"{broken", "application/json", "the body is not valid JSON"),
        (b"[1, 2]", "application/json", "the JSON body must be an object of CTI fields"),
        (b'{"event": {"a": 1}}', "application/json", "'event' must be text"),
        (
            b"--x\r\nnot a part",
            "multipart/form-data; boundary=x",
            "the body is not valid multipart form data",
        ),
    ],
)
async def test_malformed_json_gets_422(
    http: httpx.AsyncClient, raw: bytes, content_type: str, error: str
) -> None:
    answer = await http.post(URL, content=raw, headers={"content-type": content_type})
    assert (answer.status_code, answer.json()) == (422, {"error": error})


# --- the rules, without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "blocked"),
    [
        ("+48500100200", True),
        ("0048 500 100 200", True),
        ("500100200", True),
        ("+48 600-000-000", True),
        ("+48601234567", False),
        ("+49500100200", False),
        ("anonymous", False),
    ],
)
def test_blocked_numbers_compare_after_normalisation(caller: str, blocked: bool) -> None:
    assert is_blocked(caller, ["+48 500 100 200", "0048600000000"], "PL") is blocked


def test_a_withheld_word_blocks_every_withheld_caller() -> None:
    for caller in ("anonymous", "Restricted", "", "sip:anonymous@anonymous.invalid"):
        assert is_blocked(caller, ["anonymous"], "PL")
    assert not is_blocked("+48601234567", ["anonymous"], "PL")


def test_routes_are_digits_with_wildcards_and_bad_entries_are_skipped() -> None:
    routes = parse_routes(["+41*=41715880339000", "no-equals-sign", "4x=1", "49*1=", "*=999"])
    assert [r.caller_id for r in routes] == ["41715880339000", "999"]
    assert routes[0].pattern.match("41") and routes[0].pattern.match("41715880339")
    assert not routes[0].pattern.match("4941")


def test_the_first_matching_route_wins_then_the_default() -> None:
    settings = make_settings(
        "sqlite+aiosqlite://",
        cti_outbound_routes="4171*=111,41*=222",
        cti_default_caller_id="333",
        default_region="CH",
    )
    assert outbound_caller_id("+41 71 588 03 39", settings) == "111"
    assert outbound_caller_id("071 588 03 39", settings) == "111"  # national: its +41 form matches
    assert outbound_caller_id("+41 44 668 18 00", settings) == "222"
    assert outbound_caller_id("+48 601 234 567", settings) == "333"
    assert outbound_caller_id("+48 601 234 567", make_settings("sqlite+aiosqlite://")) is None


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        ("normalClearing", (None, None)),
        ("", (None, None)),
        ("busy", (CallState.BUSY, "busy")),
        ("congestion", (CallState.FAILED, "congestion")),
        ("notFound", (CallState.FAILED, "notFound")),
        ("forwarded", (None, "forwarded")),
        ("cancel", (None, "cancel")),
        ("noAnswer", (None, "noAnswer")),
        ("somethingElse", (None, "somethingElse")),
    ],
)
def test_hangup_causes(cause: str, outcome: tuple[CallState | None, str | None]) -> None:
    assert hangup_outcome(cause) == outcome


def test_interpret_builds_the_event_and_the_answer() -> None:
    settings = make_settings("sqlite+aiosqlite://", **RULES)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    blocked = interpret({**_lists(fields("newCall", "b1")), "from": ["+48500100200"]}, settings, now)
    assert blocked.answer == {"action": "reject", "reason": "busy"}
    assert (blocked.event.kind, blocked.event.ended_as, blocked.event.blocked) == (
        EventKind.ENDED,
        CallState.BUSY,
        True,
    )
    answer = interpret(_lists(fields("answer", "a1", user=["Voicemail"])), settings, now)
    assert answer.event.answered_by == "voicemail" and answer.event.at == now
    with pytest.raises(CtiError, match="direction"):
        interpret(_lists(fields("newCall", "x", direction="both")), settings, now)


def _lists(body: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in body.items()}
