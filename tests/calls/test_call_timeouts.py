"""A call whose provider goes quiet does not ring for ever: past RINGCARD_RING_TIMEOUT_S it is
missed, past RINGCARD_CALL_TIMEOUT_S an answered one is completed, both with the end cause
`no_final_event`; agents are told (`call.ended`), snapshots stop carrying it, and the log keeps
it. With several instances one of them closes each call and every agent hears of it once.
The timeouts are a second or two here; the defaults are 180 s and 4 h."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import MigratedDatabases, empty_database, make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    agent_socket,
    create_agent,
    event_of,
    is_snapshot,
    serve,
)
from tests.push.test_multi_instance import SECRET, Instance, PrivateRedis, insert_agent, redis_server
from tests.telephony.test_twilio_calls import LINE, TOKEN, incoming, status_update, twilio_post

pytestmark = LEGACY_WEBSOCKETS_WARNINGS
__all__ = ["redis_server"]  # the fixture, used by name

RING_TIMEOUT_S = 1.0
CALL_TIMEOUT_S = 2.0
CTI_TOKEN = "cti-token-for-the-timeout-tests-0123"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    settings = make_settings(
        database_url,
        twilio_auth_token=TOKEN,
        cti_token=CTI_TOKEN,
        ring_timeout_s=RING_TIMEOUT_S,
        call_timeout_s=CALL_TIMEOUT_S,
    )
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


async def log_of(http: httpx.AsyncClient, token: str) -> dict[str, dict[str, Any]]:
    calls = await http.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert calls.status_code == 200, calls.text
    return {call["provider_call_id"]: call for call in calls.json()}


async def test_a_call_that_rings_with_no_final_event_is_missed_after_the_ring_timeout(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        await twilio_post(http, "/webhooks/twilio/voice", incoming("CA400"))
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        ended = await agent.until(event_of(ringing["call_id"], "call.ended"), within_s=RING_TIMEOUT_S + 3)
    assert ended["call"]["state"] == "missed"
    assert ended["call"]["end_cause"] == "no_final_event"
    assert ended["seq"] > ringing["seq"]
    # The card stays on the ended envelope: the agent still sees who it was.
    assert ended["card"] is not None
    call = (await log_of(http, token))["CA400"]
    assert call["state"] == "missed" and call["end_cause"] == "no_final_event"
    assert call["done"] is False  # on the call-back list, like any missed call
    todo = await http.get(
        "/api/v1/calls", params={"todo": "true"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert [c["provider_call_id"] for c in todo.json()] == ["CA400"]
    # A console that connects now is not shown the call as live.
    async with agent_socket(served.ws_url, token) as later:
        (snapshot,) = [m for m in later.received if is_snapshot(m)]
    live = {item["call_id"] for item in snapshot["calls"] if item["type"] != "call.ended"}
    assert ringing["call_id"] not in live


async def test_an_answered_call_with_no_hang_up_is_closed_after_the_call_timeout_not_the_ring_timeout(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        await twilio_post(http, "/webhooks/twilio/voice", incoming("CA410"))
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        await twilio_post(http, "/webhooks/twilio/status", status_update("CA410", "in-progress", 1))
        await agent.until(event_of(ringing["call_id"], "call.answered"))
        await asyncio.sleep(RING_TIMEOUT_S + 0.5)
        assert (await log_of(http, token))["CA410"]["state"] == "answered"
        ended = await agent.until(event_of(ringing["call_id"], "call.ended"), within_s=CALL_TIMEOUT_S + 3)
    assert ended["call"]["state"] == "completed"
    call = (await log_of(http, token))["CA410"]
    assert call["end_cause"] == "no_final_event" and call["answered_at"] is not None
    # Nobody measured how long they talked: unknown, not zero.
    assert call["talking_s"] is None


async def test_the_real_end_arriving_after_the_timeout_replaces_the_guess(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        await twilio_post(http, "/webhooks/twilio/voice", incoming("CA420"))
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        await agent.until(event_of(ringing["call_id"], "call.ended"), within_s=RING_TIMEOUT_S + 3)
        late = status_update("CA420", "completed", 3, CallDuration="30")
        assert (await twilio_post(http, "/webhooks/twilio/status", late)).status_code == 204
        corrected = await agent.until(event_of(ringing["call_id"], "call.ended"))
    assert corrected["call"]["state"] == "completed" and corrected["call"]["talking_s"] == 30
    call = (await log_of(http, token))["CA420"]
    assert call["state"] == "completed" and call["end_cause"] is None and call["done"] is True


async def test_a_call_popped_by_a_pbx_lookup_ends_by_the_ring_timeout(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        looked_up = await http.get(
            "/pbx/lookup",
            params={"token": CTI_TOKEN, "number": "+48601234567", "call_id": "1733.42", "to": LINE},
        )
        assert looked_up.status_code == 200
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        ended = await agent.until(event_of(ringing["call_id"], "call.ended"), within_s=RING_TIMEOUT_S + 3)
    assert ended["call"]["provider"] == "pbx" and ended["call"]["end_cause"] == "no_final_event"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_with_two_instances_each_quiet_call_is_closed_once_and_every_agent_hears_of_it(
    migrated: MigratedDatabases, redis_server: PrivateRedis, tmp_path: Path, backend: str
) -> None:
    database_url = migrated.url(backend)
    await empty_database(database_url)
    token = await insert_agent(database_url, "ola", [LINE])
    env = {
        **os.environ,
        "RINGCARD_DATABASE_URL": database_url,
        "RINGCARD_REDIS_URL": redis_server.url,
        "RINGCARD_SECRET_KEY": SECRET,
        "RINGCARD_TWILIO_AUTH_TOKEN": TOKEN,
        "RINGCARD_DEFAULT_REGION": "PL",
        "RINGCARD_RING_TIMEOUT_S": str(RING_TIMEOUT_S),
        "RINGCARD_CALL_TIMEOUT_S": str(CALL_TIMEOUT_S),
    }
    a, b = Instance("a", env, tmp_path), Instance("b", env, tmp_path)
    sids = [f"CA43{n:02d}" for n in range(12)]
    try:
        async with (
            httpx.AsyncClient(base_url=a.http_url, timeout=10) as on_a_http,
            httpx.AsyncClient(base_url=b.http_url, timeout=10) as on_b_http,
            agent_socket(a.ws_url, token) as on_a,
            agent_socket(b.ws_url, token) as on_b,
        ):
            for n, sid in enumerate(sids):
                # Half the calls come in through each instance.
                answer = await twilio_post(
                    on_a_http if n % 2 else on_b_http, "/webhooks/twilio/voice", incoming(sid)
                )
                assert answer.status_code == 200
            for agent in (on_a, on_b):
                for _ in sids:
                    await agent.until(lambda m: m.get("type") == "call.ended", within_s=RING_TIMEOUT_S + 5)
            # Long enough for a second closing, had there been one, to arrive too.
            await asyncio.sleep(1.5)
            calls = await log_of(on_a_http, token)
    finally:
        await asyncio.gather(a.stop(), b.stop())
    for agent in (on_a, on_b):
        ended = [m for m in agent.received if m.get("type") == "call.ended"]
        assert sorted(m["call"]["provider_call_id"] for m in ended) == sids
    assert {sid: (calls[sid]["state"], calls[sid]["end_cause"]) for sid in sids} == {
        sid: ("missed", "no_final_event") for sid in sids
    }
