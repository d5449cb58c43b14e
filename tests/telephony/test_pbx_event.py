"""`GET|POST /pbx/event`: the answer and the hang-up of a call popped by `/pbx/lookup?call_id=`,
as an Asterisk dialplan, FreeSWITCH hooks and FreePBX send them, end to end on both databases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.calls.events import CallState
from app.calls.identity import call_id_for
from app.main import create_app
from app.telephony.pbx.event_routes import _Problem, event_time, hangup_outcome, interpret, talk_seconds
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
ANNA = "601234567"
TEXT = "text/plain; charset=utf-8"
SETTLE_S = 5.0


def ringcard(database_url: str, **overrides: Any) -> FastAPI:
    return create_app(make_settings(database_url, **overrides))


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(ringcard(database_url, cti_token=TOKEN)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        await store_anna(client)
        yield client


@pytest.fixture
async def agent_token(http: httpx.AsyncClient) -> str:
    return await create_agent(http, "ola", [LINE])


async def lookup(http: httpx.AsyncClient, call_id: str, number: str = ANNA) -> None:
    answer = await http.get(
        "/pbx/lookup", params={"number": number, "to": LINE, "call_id": call_id, "token": TOKEN}
    )
    assert answer.status_code == 200, answer.headers


async def report(http: httpx.AsyncClient, call_id: str, event: str, **params: Any) -> httpx.Response:
    return await http.get(
        "/pbx/event",
        params={"call_id": call_id, "event": event, "token": TOKEN, **{k: str(v) for k, v in params.items()}},
    )


async def reported(http: httpx.AsyncClient, call_id: str, event: str, **params: Any) -> None:
    answer = await report(http, call_id, event, **params)
    assert (answer.status_code, answer.content) == (200, b""), answer.headers
    assert answer.headers["content-type"] == TEXT


async def calls(http: httpx.AsyncClient, token: str, **params: str) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/calls", params=params, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()
    return listed


async def settled(
    http: httpx.AsyncClient,
    token: str,
    pbx_call_id: str,
    done: Callable[[dict[str, Any]], bool],
    within_s: float = SETTLE_S,
) -> dict[str, Any]:
    """The call in the log once `done` holds for it (the lookup's pop is recorded in the background)."""
    wanted = call_id_for("pbx", pbx_call_id)
    deadline = time.monotonic() + within_s
    seen: dict[str, Any] | None = None
    while True:
        seen = next((c for c in await calls(http, token) if c["id"] == wanted), None)
        if seen is not None and done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"call {pbx_call_id} never settled: {seen}")
        await asyncio.sleep(0.05)


def in_state(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda call: bool(call["state"] == state)


def at(offset_s: float) -> str:
    return str(int(time.time() + offset_s))


async def pop_of(agent: AgentSocket, pbx_call_id: str, event_type: str) -> dict[str, Any]:
    return await agent.until(event_of(call_id_for("pbx", pbx_call_id), event_type))


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# --- the call's life ------------------------------------------------------------------------------


async def test_lookup_answer_and_hangup_complete_the_call(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        await lookup(http, "1732000000.1")
        ringing = await pop_of(agent, "1732000000.1", "call.ringing")
        assert ringing["card"]["customer"]["name"] == "Anna Nowak"
        await reported(http, "1732000000.1", "answer", user="201", at=at(5))
        answered = await pop_of(agent, "1732000000.1", "call.answered")
        assert answered["call"]["answered_by"] == "201"
        await reported(http, "1732000000.1", "hangup", cause="ANSWER", billsec=60, at=at(65))
        ended = await pop_of(agent, "1732000000.1", "call.ended")
    assert [m["type"] for m in agent.received if m.get("call_id") == ringing["call_id"]] == [
        "call.ringing",
        "call.answered",
        "call.ended",
    ]
    assert ended["call"]["state"] == "completed"
    call = await settled(http, agent_token, "1732000000.1", in_state("completed"))
    assert (call["provider"], call["line"], call["from"]) == ("pbx", LINE, "+48601234567")
    assert (call["answered_by"], call["talking_s"], call["end_cause"]) == ("201", 60, None)
    assert call["answered_at"] is not None and 4 <= call["waiting_s"] <= 7
    assert seconds_between(call["started_at"], call["answered_at"]) == pytest.approx(call["waiting_s"], abs=1)
    assert call["done"] is True
    assert await calls(http, agent_token, todo="true") == []


async def test_times_of_arrival_without_at(served: Served, http: httpx.AsyncClient, agent_token: str) -> None:
    await lookup(http, "call-no-times")
    await settled(http, agent_token, "call-no-times", in_state("ringing"))
    await reported(http, "call-no-times", "answered", user="Ola")
    await asyncio.sleep(1.1)
    await reported(http, "call-no-times", "end")
    call = await settled(http, agent_token, "call-no-times", in_state("completed"))
    assert call["answered_by"] == "Ola" and 1 <= call["talking_s"] <= 3
    assert call["waiting_s"] is not None and call["waiting_s"] <= 3


async def test_no_answer_is_missed_and_on_the_to_do_list(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        await lookup(http, "call-noanswer")
        await pop_of(agent, "call-noanswer", "call.ringing")
        await reported(http, "call-noanswer", "hangup", cause="NOANSWER", billsec=0, user="201", at=at(30))
        ended = await pop_of(agent, "call-noanswer", "call.ended")
    assert ended["call"]["state"] == "missed"
    call = await settled(http, agent_token, "call-noanswer", in_state("missed"))
    # Nobody talked: the user of a hang-up without talk time is nobody who answered.
    assert (call["end_cause"], call["answered_by"], call["answered_at"], call["talking_s"]) == (
        "no_answer",
        None,
        None,
        None,
    )
    assert 29 <= call["waiting_s"] <= 32 and call["done"] is False
    assert [c["id"] for c in await calls(http, agent_token, todo="true")] == [call["id"]]


@pytest.mark.parametrize(
    ("cause", "state", "end_cause"),
    [("BUSY", "busy", "busy"), ("CHANUNAVAIL", "failed", "unavailable"), ("19", "missed", "no_answer")],
)
async def test_the_cause_decides_how_an_unanswered_call_ended(
    http: httpx.AsyncClient, agent_token: str, cause: str, state: str, end_cause: str
) -> None:
    await lookup(http, f"call-{cause}")
    await settled(http, agent_token, f"call-{cause}", in_state("ringing"))
    await reported(http, f"call-{cause}", "hangup", cause=cause)
    call = await settled(http, agent_token, f"call-{cause}", in_state(state))
    assert (call["end_cause"], call["done"]) == (end_cause, state != "missed")


async def test_repeated_events_change_nothing(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        await lookup(http, "call-twice")
        await pop_of(agent, "call-twice", "call.ringing")
        for _ in range(2):
            await reported(http, "call-twice", "answer", user="201", at=at(3))
        await pop_of(agent, "call-twice", "call.answered")
        await reported(http, "call-twice", "hangup", cause="NORMAL_CLEARING", billsec=20, at=at(23))
        await pop_of(agent, "call-twice", "call.ended")
        first = await settled(http, agent_token, "call-twice", in_state("completed"))
        # A retry, even one that words things differently, is the same hang-up.
        await reported(http, "call-twice", "hangup", cause="USER_BUSY", billsec=99, at=at(200))
        await reported(http, "call-twice", "answered", user="202")
        await served.on_server(served.app.state.intake.drain())
        with pytest.raises(TimeoutError):
            await agent.until(event_of(call_id_for("pbx", "call-twice")), within_s=0.5)

    def outcome(call: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(call[k] for k in ("id", "state", "answered_by", "answered_at", "ended_at", "talking_s"))

    assert [outcome(c) for c in await calls(http, agent_token)] == [outcome(first)]
    assert (first["answered_by"], first["talking_s"], first["end_cause"]) == ("201", 20, None)


async def test_an_answer_delivered_after_its_hangup_still_completes_the_call(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    await lookup(http, "call-late-answer")
    await settled(http, agent_token, "call-late-answer", in_state("ringing"))
    now = int(time.time())
    await reported(http, "call-late-answer", "hangup", cause="ANSWER", at=now + 60)
    await settled(http, agent_token, "call-late-answer", in_state("missed"))
    await reported(http, "call-late-answer", "answer", user="201", at=now + 5)
    call = await settled(http, agent_token, "call-late-answer", in_state("completed"))
    assert (call["answered_by"], call["talking_s"], call["done"]) == ("201", 55, True)


async def test_an_answer_after_a_hangup_by_the_pbxs_clock_changes_nothing(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    await lookup(http, "call-answer-after")
    await settled(http, agent_token, "call-answer-after", in_state("ringing"))
    await reported(http, "call-answer-after", "hangup", at=at(10))
    await reported(http, "call-answer-after", "answer", user="voicemail-box", at=at(20))
    await asyncio.sleep(0.2)
    call = await settled(http, agent_token, "call-answer-after", in_state("missed"))
    assert call["answered_by"] is None


async def test_a_hangup_with_talk_time_alone_says_the_call_was_answered(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    await lookup(http, "call-hangup-only")
    await settled(http, agent_token, "call-hangup-only", in_state("ringing"))
    await reported(http, "call-hangup-only", "hangup", cause="ANSWER", billsec=42, user="202", at=at(50))
    call = await settled(http, agent_token, "call-hangup-only", in_state("completed"))
    assert (call["answered_by"], call["talking_s"]) == ("202", 42)
    assert seconds_between(call["answered_at"], call["ended_at"]) == pytest.approx(42, abs=1)


async def test_talk_time_after_no_answer_is_the_voicemails_not_an_answer(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    # Dial() ended NOANSWER, then VoiceMail() answered the caller: CDR(billsec) counts the message.
    await lookup(http, "call-voicemail")
    await settled(http, agent_token, "call-voicemail", in_state("ringing"))
    await reported(http, "call-voicemail", "hangup", cause="NOANSWER", billsec=25, user="201")
    call = await settled(http, agent_token, "call-voicemail", in_state("missed"))
    assert (call["answered_by"], call["talking_s"], call["done"]) == (None, None, False)
    # Or the dialplan says so: the voicemail's answer is no answer.
    await lookup(http, "call-voicemail-2")
    await settled(http, agent_token, "call-voicemail-2", in_state("ringing"))
    await reported(http, "call-voicemail-2", "answer", user="VoiceMail")
    await reported(http, "call-voicemail-2", "hangup", cause="NOANSWER", billsec=0)
    call = await settled(http, agent_token, "call-voicemail-2", in_state("missed"))
    assert (call["answered_at"], call["done"]) == (None, False)


async def test_an_event_for_a_call_never_looked_up_creates_it(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    async with agent_socket(served.ws_url, agent_token) as agent:
        # FreeSWITCH writes an unencoded "+" into the URL: it arrives as a space.
        answer = await http.get(
            f"/pbx/event?call_id=fs-uuid-1&event=answer&user=201&from=+48601234567&to={LINE}&token={TOKEN}"
        )
        assert (answer.status_code, answer.content) == (200, b"")
        answered = await pop_of(agent, "fs-uuid-1", "call.answered")
        assert answered["card"]["customer"]["name"] == "Anna Nowak"
        await reported(http, "fs-uuid-1", "hangup", cause="16", billsec=12)
        await pop_of(agent, "fs-uuid-1", "call.ended")
    call = await settled(http, agent_token, "fs-uuid-1", in_state("completed"))
    assert (call["from"], call["line"], call["answered_by"], call["talking_s"]) == (
        "+48601234567",
        LINE,
        "201",
        12,
    )


async def test_a_hangup_for_an_unknown_call_without_a_number_is_still_logged(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    await reported(http, "never-rang", "hangup", cause="CANCEL")
    call = await settled(http, agent_token, "never-rang", in_state("missed"))
    assert (call["from_raw"], call["end_cause"]) == ("", "cancel")


async def test_an_answer_right_after_the_lookup_does_not_lose_the_call(
    served: Served, http: httpx.AsyncClient, agent_token: str
) -> None:
    """The lookup records its ringing in the background; the PBX may report the answer at once."""
    async with agent_socket(served.ws_url, agent_token) as agent:
        for n in range(5):
            call_id = f"race-{n}"
            await lookup(http, call_id)
            await reported(http, call_id, "answer", user="201")
            await pop_of(agent, call_id, "call.answered")
            await reported(http, call_id, "hangup", cause="ANSWER", billsec=1)
            await pop_of(agent, call_id, "call.ended")
            call = await settled(http, agent_token, call_id, in_state("completed"))
            assert (call["answered_by"], call["talking_s"]) == ("201", 1)
            assert call["from"] == "+48601234567", "the lookup's number was lost to the answer"


async def test_post_form_fields_as_curl_with_data_sends_them(
    http: httpx.AsyncClient, agent_token: str
) -> None:
    await lookup(http, "call-posted")
    await settled(http, agent_token, "call-posted", in_state("ringing"))
    posted = await http.post(
        f"/pbx/event?token={TOKEN}&event=hangup",
        content=b"call_id=call-posted&event=answer&user=201",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (posted.status_code, posted.content) == (200, b"")
    await settled(http, agent_token, "call-posted", in_state("answered"))
    # CURLOPT(httpheader) replaces the form content type: the body is still read as a form.
    bare = await http.post(
        "/pbx/event",
        content=b"call_id=call-posted&event=hangup&billsec=7",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": ""},
    )
    assert (bare.status_code, bare.content) == (200, b"")
    call = await settled(http, agent_token, "call-posted", in_state("completed"))
    assert (call["answered_by"], call["talking_s"]) == ("201", 7)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"token": "wrong"}, {}),
        ({}, {}),
        ({}, {"Authorization": "Bearer wrong"}),
        ({"token": ""}, {"Authorization": "Basic " + TOKEN}),
    ],
)
async def test_a_wrong_or_missing_token_is_refused_without_a_body(
    http: httpx.AsyncClient, agent_token: str, params: dict[str, str], headers: dict[str, str]
) -> None:
    answer = await http.get(
        "/pbx/event", params={"call_id": "c-1", "event": "hangup", **params}, headers=headers
    )
    assert (answer.status_code, answer.content) == (401, b"")
    assert "token" in answer.headers["x-ringcard-error"].lower()
    assert await calls(http, agent_token) == []


async def test_the_token_may_come_as_a_bearer_token(http: httpx.AsyncClient, agent_token: str) -> None:
    answer = await http.get(
        "/pbx/event",
        params={"call_id": "c-bearer", "event": "hangup"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (answer.status_code, answer.content) == (200, b"")
    await settled(http, agent_token, "c-bearer", in_state("missed"))


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"event": "hangup"}, "missing call_id"),
        ({"call_id": "  ", "event": "hangup"}, "missing call_id"),
        ({"call_id": "c-1"}, "event missing"),
        ({"call_id": "c-1", "event": "ringing"}, "'ringing' is unknown"),
        ({"call_id": "c-1", "event": "hang up"}, "use answer or hangup"),
        ({"call_id": "x" * 256, "event": "hangup"}, "call_id is longer than 255 characters"),
        ({"call_id": "c-1", "event": "hangup", "at": "yesterday"}, "at must be a Unix time"),
        ({"call_id": "c-1", "event": "hangup", "at": "-5"}, "at must be a Unix time"),
        ({"call_id": "c-1", "event": "hangup", "at": "1e9"}, "at must be a Unix time"),
        ({"call_id": "c-1", "event": "hangup", "at": "١٧٣٢٠٠٠٠٠٠"}, "at must be a Unix time"),
        ({"call_id": "c-1", "event": "hangup", "billsec": "12.5"}, "billsec must be a whole number"),
        ({"call_id": "c-1", "event": "hangup", "billsec": "-1"}, "billsec must be a whole number"),
        ({"call_id": "c-1", "event": "hangup", "duration": "9" * 5000}, "duration must be a whole number"),
        ({"call_id": "c-1", "event": "hangup", "billsec": "604801"}, "from 0 to 604800"),
    ],
)
async def test_bad_parameters_get_422_naming_them(
    http: httpx.AsyncClient, agent_token: str, params: dict[str, str], problem: str
) -> None:
    answer = await http.get("/pbx/event", params={"token": TOKEN, **params})
    assert (answer.status_code, answer.content) == (422, b"")
    assert problem in answer.headers["x-ringcard-error"]
    assert await calls(http, agent_token) == []


async def test_bad_form_bodies_get_422_naming_the_problem(http: httpx.AsyncClient) -> None:
    broken = await http.post(
        f"/pbx/event?token={TOKEN}",
        content=b"--x\r\nnot multipart",
        headers={"Content-Type": "multipart/form-data; boundary=y"},
    )
    assert (broken.status_code, broken.content) == (422, b"")
    assert "multipart" in broken.headers["x-ringcard-error"]
    mangled = await http.post(
        f"/pbx/event?token={TOKEN}", content="call_id=c-1&event=hängup".encode("latin-1")
    )
    assert (mangled.status_code, mangled.content) == (422, b"")
    assert "is unknown" in mangled.headers["x-ringcard-error"]


@pytest.mark.parametrize("stamp", ["0", "1", "99999999999", "32503680000.5"])
async def test_an_unbelievable_at_is_replaced_by_the_time_of_arrival(
    http: httpx.AsyncClient, agent_token: str, stamp: str
) -> None:
    # FreeSWITCH's ${answer_epoch} is 0 for a call nobody answered.
    before = datetime.now(UTC)
    await reported(http, "c-odd-time", "hangup", at=stamp)
    call = await settled(http, agent_token, "c-odd-time", in_state("missed"))
    assert abs(datetime.fromisoformat(call["ended_at"]) - before) < timedelta(seconds=30)


async def test_events_are_off_without_a_token(database_url: str) -> None:
    app = ringcard(database_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        answer = await client.get("/pbx/event", params={"call_id": "c", "event": "hangup", "token": "x"})
    assert (answer.status_code, answer.content) == (404, b"")
    assert "RINGCARD_CTI_TOKEN" in answer.headers["x-ringcard-error"]


# --- without a server -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        ("", (None, None)),
        ("ANSWER", (None, None)),
        ("answer", (None, None)),
        ("NOANSWER", (None, "no_answer")),
        ("CANCEL", (None, "cancel")),
        ("BUSY", (CallState.BUSY, "busy")),
        ("CONGESTION", (CallState.FAILED, "congestion")),
        ("CHANUNAVAIL", (CallState.FAILED, "unavailable")),
        ("16", (None, None)),
        ("17", (CallState.BUSY, "busy")),
        ("18", (None, "no_answer")),
        ("19", (None, "no_answer")),
        ("21", (CallState.FAILED, "call_rejected")),
        ("NORMAL_CLEARING", (None, None)),
        ("NO_ANSWER", (None, "no_answer")),
        ("NO_USER_RESPONSE", (None, "no_answer")),
        ("USER_BUSY", (CallState.BUSY, "busy")),
        ("ORIGINATOR_CANCEL", (None, "cancel")),
        ("CALL_REJECTED", (CallState.FAILED, "call_rejected")),
        ("USER_NOT_REGISTERED", (CallState.FAILED, "user_not_registered")),
        (" MEDIA_TIMEOUT ", (None, "MEDIA_TIMEOUT")),
        ("x" * 40, (None, "x" * 32)),
    ],
)
def test_hangup_outcome(cause: str, outcome: tuple[CallState | None, str | None]) -> None:
    assert hangup_outcome(cause) == outcome


def test_event_time() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert event_time("", now) == now
    assert event_time(" 1767225600 ", now) == now
    assert event_time("1767225590.25", now) == now - timedelta(seconds=9.75)
    assert event_time("0", now) == now
    assert event_time("999999999999.999999999", now) == now
    for bad in ("abc", "1.", ".5", "+1", "1_000", "1" * 13, "1767225600,5"):
        with pytest.raises(_Problem):
            event_time(bad, now)


def test_talk_seconds() -> None:
    assert talk_seconds({}) is None
    assert talk_seconds({"billsec": " "}) is None
    assert talk_seconds({"billsec": "12"}) == 12
    assert talk_seconds({"duration": "8"}) == 8
    assert talk_seconds({"billsec": "12", "duration": "30"}) == 12
    with pytest.raises(_Problem, match="billsec"):
        talk_seconds({"billsec": "²"})


def test_one_key_per_call_and_event_whatever_the_alias() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    answer = interpret({"call_id": "c", "event": "ANSWERED", "user": " 201 "}, now).event
    assert (answer.key(), answer.answered_by) == ("c:answer", "201")
    hangup = interpret({"call_id": "c", "event": "end", "cause": "BUSY", "user": "201"}, now).event
    assert (hangup.key(), hangup.ended_as, hangup.answered_by, hangup.duration_s) == (
        "c:hangup",
        CallState.BUSY,
        None,
        None,
    )
    for cause in ("BUSY", "NOANSWER", "CANCEL", "CONGESTION"):
        ended = interpret(
            {"call_id": "c", "event": "hangup", "cause": cause, "billsec": "9", "user": "2"}, now
        )
        assert (ended.event.duration_s, ended.event.answered_by) == (None, None)
    for cause in ("", "ANSWER", "16", "MEDIA_TIMEOUT"):
        ended = interpret(
            {"call_id": "c", "event": "hangup", "cause": cause, "billsec": "9", "user": "2"}, now
        )
        assert (ended.event.duration_s, ended.event.answered_by) == (9, "2")
    long_id = "9" * 255
    keys = {interpret({"call_id": long_id, "event": e}, now).event.key() for e in ("answer", "hangup")}
    assert len(keys) == 2 and all(len(key) <= 255 for key in keys)
    voicemail = interpret({"call_id": "c", "event": "answer", "user": " VoiceMail "}, now).event
    assert voicemail.answered_by == "voicemail"
    long_user = interpret({"call_id": "c", "event": "answer", "user": "u" * 300}, now).event.answered_by
    assert long_user == "u" * 255
