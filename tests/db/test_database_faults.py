"""No call is lost around database trouble: not from the agents' screens, not from the call log.

The service runs on a PostgreSQL cluster of this test's own (a throwaway cluster on another port),
which the tests restart and stop while calls ring."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.calls.identity import call_id_for
from app.calls.models import Call
from app.db import create_engine, make_sessionmaker
from app.db.migrate import upgrade
from app.main import create_app
from tests.conftest import SYNC, empty_database, in_own_thread, make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    AgentSocket,
    Served,
    agent_socket,
    create_agent,
    serve,
)
from tests.fixtures.store_records import customer
from tests.fixtures.throwaway_services import ThrowawayPostgres
from tests.telephony.test_twilio_calls import incoming, status_update, twilio_post

pytestmark = LEGACY_WEBSOCKETS_WARNINGS
TOKEN = "fault-twilio-token-0123456789"
LINE = "+48221234567"
ANNA = "+48601234567"


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres()
    cluster.create()
    try:
        in_own_thread(upgrade, cluster.url)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def served(postgres: ThrowawayPostgres) -> AsyncIterator[Served]:
    await empty_database(postgres.url)
    settings = make_settings(postgres.url, twilio_auth_token=TOKEN)
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=10) as client:
        yield client


async def ready(served: Served, http: httpx.AsyncClient) -> str:
    """An agent of the line and a known customer, Anna: the agent's token."""
    token = await create_agent(http, "ola", [LINE])
    body = customer(phones=[{"number": ANNA, "kind": "mobile"}])
    assert (await http.put("/api/v1/customers/c-1", json=body, headers=SYNC)).status_code == 200
    return token


async def ring(http: httpx.AsyncClient, sid: str, caller: str = ANNA) -> None:
    answer = await twilio_post(http, "/webhooks/twilio/voice", incoming(sid, caller), token=TOKEN)
    assert answer.status_code == 200 and "<Response>" in answer.text, answer.text


async def pop_of(console: AgentSocket, call_id: str, *, within_s: float = 10) -> dict[str, Any]:
    for message in console.received:
        if message.get("call_id") == call_id:
            return message
    return await console.until(lambda m: m.get("call_id") == call_id, within_s=within_s)


async def logged_calls(url: str) -> dict[str, Call]:
    engine = create_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            return {call.provider_call_id: call for call in (await session.scalars(select(Call))).all()}
    finally:
        await engine.dispose()


async def until_logged(url: str, expected: dict[str, str], within_s: float = 20) -> dict[str, Call]:
    deadline = time.monotonic() + within_s
    while True:
        calls = await logged_calls(url)
        if {sid: calls[sid].state for sid in expected if sid in calls} == expected:
            return calls
        if time.monotonic() > deadline:
            states = {sid: call.state for sid, call in calls.items()}
            raise AssertionError(f"the call log has {states}, expected {expected}")
        await asyncio.sleep(0.2)


def call_id(served: Served, sid: str) -> str:
    return call_id_for("twilio", sid)


async def test_calls_ringing_through_a_restart_all_pop_and_are_all_logged(
    served: Served, http: httpx.AsyncClient, postgres: ThrowawayPostgres
) -> None:
    token = await ready(served, http)
    async with agent_socket(served.ws_url, token) as console:
        await ring(http, "CA-before")
        assert (await pop_of(console, call_id(served, "CA-before")))["card"]["match"]["status"] == "exact"

        restarting = asyncio.create_task(asyncio.to_thread(postgres.restart))
        sids = []
        while not restarting.done():
            sid = f"CA-during-{len(sids)}"
            await ring(http, sid)
            sids.append(sid)
            await asyncio.sleep(0.05)
        await restarting
        # The pool's connections all died with the old server; the next call must not notice.
        started = time.perf_counter()
        await ring(http, "CA-after")
        after = await pop_of(console, call_id(served, "CA-after"))
        pop_ms = (time.perf_counter() - started) * 1000
        assert after["card"]["match"]["status"] == "exact", after["card"]["match"]
        assert pop_ms < 1000, f"the first call after the restart popped after {pop_ms:.0f} ms"
        # Idle for longer than a pooled connection may sit unchecked, then a call again: the
        # quiet minute after a restart once lost the first call.
        await asyncio.to_thread(postgres.restart)
        await asyncio.sleep(3)
        await ring(http, "CA-after-quiet")
        quiet = await pop_of(console, call_id(served, "CA-after-quiet"))
        assert quiet["card"]["match"]["status"] == "exact"

        for sid in sids:
            popped = await pop_of(console, call_id(served, sid))
            assert popped["call"]["from_raw"] == ANNA
    assert sids, "no call rang while the database restarted"
    every = ["CA-before", *sids, "CA-after", "CA-after-quiet"]
    await until_logged(postgres.url, dict.fromkeys(every, "ringing"))
    # Each with the customer its card named, saved through the restart too.
    deadline = time.monotonic() + 20
    while (
        matched := {sid: c.customer_external_id for sid, c in (await logged_calls(postgres.url)).items()}
    ) != dict.fromkeys(every, "c-1"):
        assert time.monotonic() < deadline, f"calls without their customer: {matched}"
        await asyncio.sleep(0.2)


async def test_calls_during_an_outage_pop_with_the_number_and_reach_the_log_when_it_returns(
    served: Served, http: httpx.AsyncClient, postgres: ThrowawayPostgres
) -> None:
    token = await ready(served, http)
    async with agent_socket(served.ws_url, token) as console:
        await asyncio.to_thread(postgres.stop)
        try:
            # Known and unknown callers ring; one is answered and hung up, one is missed.
            await ring(http, "CA-anna", ANNA)
            await ring(http, "CA-stranger", "+48500000001")
            # (Each status callback follows its call's pop, as it does on a real line.)
            await pop_of(console, call_id(served, "CA-stranger"))
            offline = await pop_of(console, call_id(served, "CA-anna"))
            assert offline["type"] == "call.ringing"
            assert offline["card"]["match"]["status"] == "unavailable"
            assert offline["card"]["caller"]["e164"] == ANNA
            assert "unavailable" in offline["card"]["headline"]
            for params in (
                status_update("CA-anna", "in-progress", 1),
                status_update("CA-anna", "completed", 2, CallDuration="42"),
                status_update("CA-stranger", "no-answer", 1),
            ):
                answer = await twilio_post(http, "/webhooks/twilio/status", params, token=TOKEN)
                assert answer.status_code == 204, answer.text
            answered = await console.until(
                lambda m: m.get("call_id") == call_id(served, "CA-anna") and m["type"] == "call.answered"
            )
            assert answered["card"]["match"]["status"] == "unavailable"
            ended = await console.until(
                lambda m: m.get("call_id") == call_id(served, "CA-stranger") and m["type"] == "call.ended"
            )
            assert ended["call"]["state"] == "missed"
            assert served.app.state.intake.events_waiting == 5
        finally:
            await asyncio.to_thread(postgres.start)

        calls = await until_logged(postgres.url, {"CA-anna": "completed", "CA-stranger": "missed"})
        assert calls["CA-anna"].talking_s == 42
        assert calls["CA-anna"].customer_external_id == "c-1"
        # Once the store's data can be read, the call on screen gets its real card, and it
        # outranks everything the agent saw from memory.
        refreshed = await console.until(
            lambda m: m.get("call_id") == call_id(served, "CA-anna")
            and m["card"]["match"]["status"] == "exact"
        )
        assert refreshed["seq"] > answered["seq"]
        assert refreshed["call"]["state"] == "completed"
        assert served.app.state.intake.events_waiting == 0

        # And the next call pops as usual.
        await ring(http, "CA-next")
        assert (await pop_of(console, call_id(served, "CA-next")))["card"]["match"]["status"] == "exact"


async def test_rest_requests_during_an_outage_answer_503_naming_the_database(
    served: Served, http: httpx.AsyncClient, postgres: ThrowawayPostgres
) -> None:
    token = await ready(served, http)
    await asyncio.to_thread(postgres.stop)
    try:
        answer = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 503, answer.text
        assert "database" in answer.json()["detail"]
        assert int(answer.headers["retry-after"]) >= 1
        body = customer(phones=[{"number": "+48601000000", "kind": "mobile"}])
        stored = await http.put("/api/v1/customers/c-2", json=body, headers=SYNC)
        assert stored.status_code == 503, stored.text
    finally:
        await asyncio.to_thread(postgres.start)
    answer = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
