"""Who answered a Twilio call, and when: the voice TwiML asks each dialled leg for its progress,
and the legs' callbacks — posted to the URLs the TwiML itself names, signed with the real
`twilio` SDK, in order, twice, shuffled — tell the call log who answered, the waiting and the
talking time. A dial nobody answered is a missed call.

The callbacks carry the fields Twilio documents for a dialled leg's status callback
(https://www.twilio.com/docs/voice/twiml/client#attributes-status-callback-event: CallSid,
ParentCallSid, CallStatus, To `client:<identity>`, Direction `outbound-dial`, SequenceNumber,
Timestamp, CallbackSource, CallDuration on `completed`) and for the `<Dial action>` request
(https://www.twilio.com/docs/voice/twiml/dial#action: DialCallStatus, DialCallSid,
DialCallDuration next to the parent call's own parameters).
"""

from __future__ import annotations

import asyncio
import math
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

from app.main import create_app
from tests.conftest import make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    agent_socket,
    create_agent,
    event_of,
    serve,
)
from tests.telephony.test_twilio_calls import (  # the fixtures too: one served app per test
    LINE,
    TOKEN,
    http,
    incoming,
    served,
    status_update,
    twilio_post,
)

pytestmark = LEGACY_WEBSOCKETS_WARNINGS
__all__ = ["http", "served"]  # fixtures, used by name


@dataclass(frozen=True)
class Dialled:
    """What the voice TwiML asked of Twilio: the dial's action URL and each leg's callback."""

    action: str
    legs: dict[str, str]  # "client:ola" -> statusCallback URL
    events: dict[str, str]  # "client:ola" -> statusCallbackEvent
    twiml: str


async def ring(http: httpx.AsyncClient, call_sid: str, caller: str = "+48601234567") -> Dialled:
    answer = await twilio_post(http, "/webhooks/twilio/voice", incoming(call_sid, caller))
    assert answer.status_code == 200, answer.text
    dial = ET.fromstring(answer.text).find("Dial")  # noqa: S314 - our own answer
    assert dial is not None, answer.text
    legs: dict[str, str] = {}
    events: dict[str, str] = {}
    for noun in dial:
        to = "client:" + (noun.findtext("Identity") or "") if noun.tag == "Client" else (noun.text or "")
        legs[to] = noun.get("statusCallback") or ""
        events[to] = noun.get("statusCallbackEvent") or ""
    return Dialled(dial.get("action") or "", legs, events, answer.text)


async def post_to(http: httpx.AsyncClient, url: str, params: dict[str, str]) -> httpx.Response:
    """As Twilio does: signed over the URL it was given, sent to that URL's path."""
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return await http.post(urlsplit(url).path, data=params, headers={"X-Twilio-Signature": signature})


def stamp(at: datetime) -> str:
    return format_datetime(at, usegmt=True)


def leg_update(
    parent_sid: str, leg_sid: str, to: str, status: str, sequence: int, at: datetime, **extra: str
) -> dict[str, str]:
    return {
        "AccountSid": "AC00000000000000000000000000000000",
        "ApiVersion": "2010-04-01",
        "CallSid": leg_sid,
        "ParentCallSid": parent_sid,
        "CallStatus": status,
        "CallbackSource": "call-progress-events",
        "Called": to,
        "Direction": "outbound-dial",
        "From": "+48601234567",
        "SequenceNumber": str(sequence),
        "Timestamp": stamp(at),
        "To": to,
        **extra,
    }


def dial_outcome(parent_sid: str, dial_status: str, leg_sid: str, **extra: str) -> dict[str, str]:
    return {
        **incoming(parent_sid),
        "CallStatus": "in-progress",
        "DialCallStatus": dial_status,
        "DialCallSid": leg_sid,
        **extra,
    }


def next_whole_second(after: datetime) -> datetime:
    return datetime.fromtimestamp(math.ceil(after.timestamp()), UTC)


def answered_story(
    parent_sid: str, dialled: Dialled, t0: datetime, *, answer_after_s: int = 5, talk_s: int = 42
) -> list[tuple[str, dict[str, str]]]:
    """Two agents' clients ring from t0; Ola answers after `answer_after_s`; Piotr's leg is
    cancelled; they talk `talk_s`."""
    answered = t0 + timedelta(seconds=answer_after_s)
    hung_up = answered + timedelta(seconds=talk_s)
    ola, piotr = dialled.legs["client:ola"], dialled.legs["client:piotr"]
    ola_leg, piotr_leg = f"{parent_sid}o", f"{parent_sid}p"
    return [
        (ola, leg_update(parent_sid, ola_leg, "client:ola", "initiated", 0, t0)),
        (piotr, leg_update(parent_sid, piotr_leg, "client:piotr", "initiated", 0, t0)),
        (ola, leg_update(parent_sid, ola_leg, "client:ola", "ringing", 1, t0)),
        (piotr, leg_update(parent_sid, piotr_leg, "client:piotr", "ringing", 1, t0)),
        (ola, leg_update(parent_sid, ola_leg, "client:ola", "in-progress", 2, answered)),
        (piotr, leg_update(parent_sid, piotr_leg, "client:piotr", "canceled", 2, answered)),
        (
            ola,
            leg_update(
                parent_sid,
                ola_leg,
                "client:ola",
                "completed",
                3,
                hung_up,
                CallDuration=str(talk_s),
            ),
        ),
        (dialled.action, dial_outcome(parent_sid, "completed", ola_leg, DialCallDuration=str(talk_s))),
    ]


async def two_agents(http: httpx.AsyncClient, served: Served) -> tuple[str, str]:
    tokens = await create_agent(http, "ola", [LINE]), await create_agent(http, "piotr", [LINE])
    # The TwiML is answered from the service's cached agent list, which learns of new agents in
    # the background (the caller never waits long for it): ring once it knows them.
    directory = served.app.state.directory
    for _ in range(100):
        if directory.display_name("ola") and directory.display_name("piotr"):
            return tokens
        await asyncio.sleep(0.05)
    raise AssertionError("the agent directory never learnt of the new agents")


async def logged(http: httpx.AsyncClient, token: str, call_sid: str) -> dict[str, Any]:
    calls = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert calls.status_code == 200
    (call,) = [c for c in calls.json() if c["provider_call_id"] == call_sid]
    return call


async def test_the_twiml_asks_every_dialled_client_for_its_progress_and_the_dial_for_its_outcome(
    served: Served, http: httpx.AsyncClient
) -> None:
    ola, _ = await two_agents(http, served)
    async with agent_socket(served.ws_url, ola):
        dialled = await ring(http, "CA300")
    assert set(dialled.legs) == {"client:ola", "client:piotr"}
    assert set(dialled.legs.values()) == {f"{served.http_url}/webhooks/twilio/leg"}
    assert set(dialled.events.values()) == {"initiated ringing answered completed"}
    assert dialled.action == f"{served.http_url}/webhooks/twilio/dial"
    # Nobody answering is handled by the action now, not by verbs after the <Dial> (Twilio
    # would run those after every dial, a finished conversation included).
    assert "<Enqueue" not in dialled.twiml


async def test_the_answering_agents_leg_sets_who_answered_when_and_how_long_they_talked(
    served: Served, http: httpx.AsyncClient
) -> None:
    ola, piotr = await two_agents(http, served)
    async with agent_socket(served.ws_url, ola) as agent, agent_socket(served.ws_url, piotr):
        rang = datetime.now(UTC)
        dialled = await ring(http, "CA301")
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
        t0 = next_whole_second(rang)
        for url, params in answered_story("CA301", dialled, t0):
            response = await post_to(http, url, params)
            assert response.status_code in (200, 204), response.text
        answered = await agent.until(event_of(pop["call_id"], "call.answered"))
        assert answered["call"]["answered_by"] == "Ola"
        ended = await agent.until(event_of(pop["call_id"], "call.ended"))
    call = await logged(http, ola, "CA301")
    assert call["state"] == "completed" and ended["call"]["state"] == "completed"
    assert call["answered_by"] == "Ola"
    assert call["answered_at"] == (t0 + timedelta(seconds=5)).isoformat()
    assert 5 <= call["waiting_s"] <= 6
    assert call["talking_s"] == 42
    assert call["end_cause"] is None


async def test_leg_callbacks_duplicated_and_shuffled_tell_the_same_story(
    served: Served, http: httpx.AsyncClient
) -> None:
    """Three calls, each with its callbacks (and the number's own) shuffled and half of them sent
    twice. As with Twilio, every callback arrives after the moment its Timestamp names: the
    calls are answered 1 s after t0 and talk 2 s, and the test waits for that to have passed."""
    ola, _ = await two_agents(http, served)
    seeds = (1, 2, 3)
    async with agent_socket(served.ws_url, ola) as agent:
        rang = datetime.now(UTC)
        dialled = {seed: await ring(http, f"CA31{seed}") for seed in seeds}
        for _ in seeds:
            await agent.until(lambda m: m.get("type") == "call.ringing")
    t0 = next_whole_second(rang)
    await asyncio.sleep(max((t0 + timedelta(seconds=3.2) - datetime.now(UTC)).total_seconds(), 0))
    for seed in seeds:
        call_sid = f"CA31{seed}"
        story = answered_story(call_sid, dialled[seed], t0, answer_after_s=1, talk_s=2)
        story.append(("/webhooks/twilio/status", status_update(call_sid, "completed", 4, CallDuration="2")))
        deliveries = story + random.Random(seed).sample(story, k=len(story) // 2)
        random.Random(seed).shuffle(deliveries)
        for url, params in deliveries:
            if url.startswith("/"):
                response = await twilio_post(http, url, params)
            else:
                response = await post_to(http, url, params)
            assert response.status_code in (200, 204), response.text
    for seed in seeds:
        call = await wait_for_state(http, ola, f"CA31{seed}", "completed")
        assert call["answered_by"] == "Ola", seed
        assert call["talking_s"] == 2, seed
        assert call["answered_at"] == (t0 + timedelta(seconds=1)).isoformat(), seed
        assert 1 <= call["waiting_s"] <= 2, seed


async def wait_for_state(
    http: httpx.AsyncClient, token: str, call_sid: str, state: str, *, within_s: float = 5.0
) -> dict[str, Any]:
    """The dial's outcome is recorded behind its TwiML answer: poll the log until it shows."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        call = await logged(http, token, call_sid)
        if call["state"] == state and (state != "completed" or call["answered_by"]):
            return call
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"call {call_sid} is {call['state']}, not {state}: {call}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed"])
async def test_a_dial_nobody_answered_is_missed_and_the_caller_waits_in_the_lines_queue(
    served: Served, http: httpx.AsyncClient, dial_status: str
) -> None:
    ola, _ = await two_agents(http, served)
    call_sid = f"CA32{dial_status[0]}"
    async with agent_socket(served.ws_url, ola) as agent:
        dialled = await ring(http, call_sid)
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
        now = datetime.now(UTC)
        for to, url in dialled.legs.items():
            leg_sid = f"{call_sid}{to[-1]}"
            assert (
                await post_to(http, url, leg_update(call_sid, leg_sid, to, "ringing", 0, now))
            ).status_code == 204
            leg_end = leg_update(call_sid, leg_sid, to, dial_status, 1, now + timedelta(seconds=20))
            assert (await post_to(http, url, leg_end)).status_code == 204
        after = await post_to(http, dialled.action, dial_outcome(call_sid, dial_status, f"{call_sid}a"))
        assert after.status_code == 200
        assert after.headers["content-type"].startswith("text/xml")
        queue = ET.fromstring(after.text).findtext("Enqueue")  # noqa: S314 - our own answer
        assert queue == LINE
        ended = await agent.until(event_of(pop["call_id"], "call.ended"))
    assert ended["call"]["state"] == "missed"
    call = await logged(http, ola, call_sid)
    assert call["state"] == "missed" and call["end_cause"] == dial_status
    assert call["answered_by"] is None and call["done"] is False


async def test_a_connected_dial_hangs_up_instead_of_queueing_the_caller_again(
    served: Served, http: httpx.AsyncClient
) -> None:
    ola, _ = await two_agents(http, served)
    async with agent_socket(served.ws_url, ola):
        dialled = await ring(http, "CA330")
    after = await post_to(
        http, dialled.action, dial_outcome("CA330", "completed", "CA330o", DialCallDuration="9")
    )
    assert after.status_code == 200
    assert ET.fromstring(after.text).find("Hangup") is not None  # noqa: S314 - our own answer
    assert "<Enqueue" not in after.text


async def test_forwarded_calls_report_the_number_that_answered(database_url: str) -> None:
    settings = make_settings(
        database_url, twilio_auth_token=TOKEN, twilio_routing="forward", twilio_forward_to="+48225550100"
    )
    async with serve(create_app(settings)) as served, httpx.AsyncClient(base_url=served.http_url) as http:
        ola = await create_agent(http, "ola", [LINE])
        dialled = await ring(http, "CA340")
        assert set(dialled.legs) == {"+48225550100"}
        now = datetime.now(UTC)
        url = dialled.legs["+48225550100"]
        for status, sequence, extra in (("in-progress", 0, {}), ("completed", 1, {"CallDuration": "30"})):
            params = leg_update("CA340", "CA340n", "+48225550100", status, sequence, now, **extra)
            assert (await post_to(http, url, params)).status_code == 204
        call = await logged(http, ola, "CA340")
        assert call["state"] == "completed"
        assert call["answered_by"] == "+48225550100" and call["talking_s"] == 30


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"ParentCallSid": ""}, "missing ParentCallSid"),
        ({"CallStatus": "on-hold"}, "unknown CallStatus"),
        ({"CallDuration": "-3"}, "CallDuration must be a whole number"),
        ({"SequenceNumber": "x"}, "SequenceNumber must be a whole number"),
    ],
)
async def test_leg_callbacks_twilio_never_sends_are_refused_naming_the_field(
    served: Served, http: httpx.AsyncClient, change: dict[str, str], problem: str
) -> None:
    ola, _ = await two_agents(http, served)
    async with agent_socket(served.ws_url, ola):
        dialled = await ring(http, "CA350")
    params = {**leg_update("CA350", "CA350o", "client:ola", "completed", 0, datetime.now(UTC)), **change}
    response = await post_to(http, dialled.legs["client:ola"], params)
    assert response.status_code == 422 and problem in response.text
    unsigned = await http.post("/webhooks/twilio/leg", data=params)
    assert unsigned.status_code == 401
    call = await logged(http, ola, "CA350")
    assert call["state"] == "ringing"


async def test_a_dial_outcome_twilio_never_sends_is_refused(served: Served, http: httpx.AsyncClient) -> None:
    ola, _ = await two_agents(http, served)
    async with agent_socket(served.ws_url, ola):
        dialled = await ring(http, "CA360")
    response = await post_to(http, dialled.action, dial_outcome("CA360", "maybe", "CA360o"))
    assert response.status_code == 422 and "unknown DialCallStatus" in response.text
    response = await post_to(
        http, dialled.action, dial_outcome("CA360", "completed", "CA360o", DialCallDuration="soon")
    )
    assert response.status_code == 422 and "DialCallDuration" in response.text


async def test_an_agent_created_a_moment_ago_is_rung_on_the_next_call_without_opening_the_console(
    served: Served, http: httpx.AsyncClient
) -> None:
    # A Voice SDK phone needs no console socket: the new agent must be in the very next TwiML,
    # not only after the service's periodic refresh of its agent list.
    await create_agent(http, "ewa", [LINE])
    dialled = await ring(http, "CA370")
    assert set(dialled.legs) == {"client:ewa"}


async def test_many_calls_callbacks_sent_all_at_once_end_each_call_right(
    served: Served, http: httpx.AsyncClient
) -> None:
    """Concurrent writers on the call log: the callbacks of 20 calls (legs, dial outcomes and the
    number's own, a third of them twice) all in flight together, as Twilio sends them under
    load. Every call must end completed, answered by Ola, with the talk time its legs reported."""
    ola, _ = await two_agents(http, served)
    sids = [f"CA38{n:02d}" for n in range(20)]
    async with agent_socket(served.ws_url, ola) as agent:
        rang = datetime.now(UTC)
        dialled = {sid: await ring(http, sid) for sid in sids}
        for _ in sids:
            await agent.until(lambda m: m.get("type") == "call.ringing")
    t0 = next_whole_second(rang)
    await asyncio.sleep(max((t0 + timedelta(seconds=3.2) - datetime.now(UTC)).total_seconds(), 0))
    deliveries: list[tuple[str, dict[str, str]]] = []
    for n, sid in enumerate(sids):
        story = answered_story(sid, dialled[sid], t0, answer_after_s=1, talk_s=2)
        story.append(("/webhooks/twilio/status", status_update(sid, "completed", 4, CallDuration="2")))
        deliveries += story + story[n % 3 :: 3]
    random.Random(7).shuffle(deliveries)

    async def send(url: str, params: dict[str, str]) -> int:
        answer = await (twilio_post(http, url, params) if url.startswith("/") else post_to(http, url, params))
        return answer.status_code

    statuses = await asyncio.gather(*(send(url, params) for url, params in deliveries))
    assert set(statuses) <= {200, 204}
    for sid in sids:
        call = await wait_for_state(http, ola, sid, "completed")
        assert (call["answered_by"], call["talking_s"]) == ("Ola", 2), sid
        assert call["answered_at"] == (t0 + timedelta(seconds=1)).isoformat(), sid
