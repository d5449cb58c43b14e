"""The push channel over real sockets: a running uvicorn and the `websockets` client."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from app.agents.tokens import AgentClaims, issue_token
from app.main import create_app
from app.push import socket_routes as ws_module
from app.push.hub import PushHub
from tests.conftest import make_settings
from tests.fixtures.push_harness import (
    LEGACY_WEBSOCKETS_WARNINGS,
    Served,
    add_agent,
    agent_socket,
    create_agent,
    event_of,
    is_snapshot,
    serve,
)

LINE = "+48221234567"
OTHER_LINE = "+48221234568"
CARD: dict[str, Any] = {"match": {"status": "exact"}, "customer": {"name": "Anna Nowak"}, "orders": []}
ENVELOPE_KEYS = {"type", "call_id", "seq", "at", "call", "card"}

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


async def online_agents(hub: PushHub) -> set[int]:
    return hub.online_agent_ids()


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serve(create_app(make_settings(database_url))) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


async def test_a_socket_without_a_valid_first_message_token_is_closed_with_4401(
    served: Served, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_module, "AUTH_TIMEOUT_S", 0.3)
    token = await create_agent(http, "ola", [LINE])
    ghost = issue_token(served.app.state.token_key, AgentClaims(987654, "ghost", "Ghost"), ttl_s=600)

    async with agent_socket(served.ws_url, "not-a-token", snapshot=False) as forged:
        assert await forged.closed_with() == 4401
    async with agent_socket(served.ws_url, ghost, snapshot=False) as unknown_agent:
        assert await unknown_agent.closed_with() == 4401
    async with agent_socket(served.ws_url, None) as pinging_first:
        await pinging_first.send({"type": "ping"})
        assert await pinging_first.closed_with() == 4401
    async with agent_socket(served.ws_url, None) as silent:
        assert await silent.closed_with() == 4401
    async with agent_socket(served.ws_url, None) as token_in_wrong_shape:
        await token_in_wrong_shape.send({"type": "hello", "token": token})
        assert await token_in_wrong_shape.closed_with() == 4401

    async with agent_socket(served.ws_url, token) as welcome:
        assert welcome.received == [{"type": "snapshot", "calls": []}]


async def test_the_snapshot_lists_the_live_calls_of_the_agents_lines_with_their_latest_card(
    served: Served,
) -> None:
    token = await add_agent(served, "ola", ["+48 22 123 45 67"])
    await served.publish("call.ringing", "answered", LINE, CARD)
    await served.publish("call.answered", "answered", LINE)  # no card: the ringing one still counts
    await served.publish("call.ringing", "ringing", "22 123 45 67", orjson.dumps(CARD))
    await served.publish("call.ringing", "over", LINE, CARD)
    await served.publish("call.ended", "over", LINE)
    await served.publish("call.ringing", "elsewhere", OTHER_LINE, CARD)

    async with agent_socket(served.ws_url, token) as agent:
        calls = agent.received[0]["calls"]

    by_id = {c["call_id"]: c for c in calls}  # the protocol sets no order among calls
    assert sorted(by_id) == ["answered", "ringing"] and len(calls) == 2
    answered, ringing = by_id["answered"], by_id["ringing"]
    assert set(answered) == ENVELOPE_KEYS
    assert (answered["type"], answered["seq"], answered["card"]) == ("call.answered", 2, CARD)
    assert answered["call"]["id"] == "answered"
    assert (ringing["type"], ringing["seq"], ringing["card"]) == ("call.ringing", 1, CARD)


async def test_envelopes_carry_a_growing_seq_per_call_and_older_events_are_dropped(served: Served) -> None:
    token = await add_agent(served, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        assert await served.publish("call.ringing", "c1", LINE, orjson.dumps(CARD)) == 1
        for _ in range(20):
            await served.publish("card.updated", "c1", LINE, CARD)
        assert await served.publish("call.answered", "c1", LINE) == 22
        # The call record's own counter wins: an older number is dropped, a newer one kept.
        assert await served.publish("card.updated", "c1", LINE, CARD, seq=5) is None
        assert await served.publish("call.ended", "c1", LINE, seq=30) == 30
        messages = [await agent.next() for _ in range(23)]

    assert [m["seq"] for m in messages] == [*range(1, 23), 30]
    assert [m["type"] for m in messages[:1] + messages[-2:]] == [
        "call.ringing",
        "call.answered",
        "call.ended",
    ]
    assert all(set(m) == ENVELOPE_KEYS and m["call_id"] == "c1" for m in messages)
    assert messages[0]["card"] == CARD and messages[-1]["card"] is None
    assert messages[0]["at"].endswith("+00:00")


async def test_agents_get_the_calls_of_their_lines_and_star_gets_every_call(served: Served) -> None:
    dialled_token = await add_agent(served, "dialled", ["+48 22 123 45 67"])
    queue_token = await add_agent(served, "queue", ["sales"])
    boss_token = await add_agent(served, "boss", ["*"])
    async with (
        agent_socket(served.ws_url, dialled_token) as dialled,
        agent_socket(served.ws_url, queue_token) as queue,
        agent_socket(served.ws_url, boss_token) as boss,
    ):
        await served.publish("call.ringing", "to-number", LINE, CARD)
        await served.publish("call.ringing", "to-queue", "sales", CARD)
        await served.publish("call.ringing", "to-other-number", OTHER_LINE, CARD)
        await served.publish("call.ringing", "to-other-queue", "support", CARD)
        await served.publish("call.ringing", "written-nationally", "22 123 45 67", CARD)
        # A last call on each line: whatever was not received before it was never sent.
        await served.publish("call.ringing", "last-number", LINE, CARD)
        await served.publish("call.ringing", "last-queue", "sales", CARD)
        await dialled.until(event_of("last-number"))
        await queue.until(event_of("last-queue"))
        await boss.until(event_of("last-queue"))
        assert len(await served.on_server(online_agents(served.hub))) == 3

    def ids(agent_messages: list[dict[str, Any]]) -> list[str]:
        return [m["call_id"] for m in agent_messages if m["type"] != "snapshot"]

    assert ids(dialled.received) == ["to-number", "written-nationally", "last-number"]
    assert ids(queue.received) == ["to-queue", "last-queue"]
    assert ids(boss.received) == [
        "to-number",
        "to-queue",
        "to-other-number",
        "to-other-queue",
        "written-nationally",
        "last-number",
        "last-queue",
    ]


async def test_a_ping_gets_a_pong(served: Served) -> None:
    token = await add_agent(served, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as agent:
        await agent.send({"type": "ping"})
        assert await agent.next() == {"type": "pong"}
        await agent.send({"type": "something-new"})  # ignored, the socket stays open
        await agent.send({"type": "ping"})
        assert await agent.next() == {"type": "pong"}


async def test_an_agent_that_stops_reading_is_closed_with_1013_and_the_others_keep_receiving(
    served: Served,
) -> None:
    served.hub.queue_limit = 16  # connections made from now on; keeps the test quick
    slow_token = await add_agent(served, "slow", [LINE])
    fast_token = await add_agent(served, "fast", [LINE])
    # The slow agent's socket buffers almost nothing and its client reads no frame ahead, so the
    # server feels the backpressure as soon as the agent stops calling recv().
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    raw.connect(("127.0.0.1", served.port))
    count = 200
    card = {"note": os.urandom(24_000).hex()}  # incompressible, so the socket buffers fill

    async with (
        agent_socket(
            served.ws_url, slow_token, sock=raw, max_queue=1, max_size=None, compression=None
        ) as slow,
        agent_socket(served.ws_url, fast_token, max_size=None, compression=None) as fast,
    ):

        async def read_everything() -> list[int]:
            return [(await fast.next())["seq"] for _ in range(count)]

        fast_reader = asyncio.create_task(read_everything())
        for _ in range(count):
            await served.publish("card.updated", "busy-call", LINE, card)
        assert await fast_reader == list(range(1, count + 1))
        assert await slow.closed_with(within_s=10) == 1013

    slow_envelopes = [m for m in slow.received if m["type"] != "snapshot"]
    assert len(slow_envelopes) < count


async def test_a_reconnecting_agent_gets_a_snapshot_of_what_it_missed(served: Served) -> None:
    token = await add_agent(served, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as first_visit:
        await served.publish("call.ringing", "c1", LINE, CARD)
        await first_visit.until(event_of("c1"))
    await served.publish("call.answered", "c1", LINE)
    await served.publish("call.ringing", "c2", LINE, CARD)

    async with agent_socket(served.ws_url, token) as second_visit:
        calls = {c["call_id"]: c for c in second_visit.received[0]["calls"]}
        await served.publish("call.ended", "c1", LINE)
        ended = await second_visit.until(event_of("c1"))

    assert (calls["c1"]["type"], calls["c1"]["seq"], calls["c1"]["card"]) == ("call.answered", 2, CARD)
    assert (calls["c2"]["type"], calls["c2"]["seq"]) == ("call.ringing", 1)
    assert (ended["type"], ended["seq"]) == ("call.ended", 3)


async def test_every_agent_gets_a_fresh_snapshot_when_the_broker_resubscribes(served: Served) -> None:
    number_token = await add_agent(served, "number", [LINE])
    queue_token = await add_agent(served, "queue", ["sales"])
    async with (
        agent_socket(served.ws_url, number_token) as number,
        agent_socket(served.ws_url, queue_token) as queue,
    ):
        await served.publish("call.ringing", "c1", LINE, CARD)
        await served.publish("call.ringing", "c2", "sales", CARD)
        served.loop.call_soon_threadsafe(lambda: served.hub.on_broker_subscribed(resubscribed=True))
        number_snapshot = await number.until(is_snapshot)
        queue_snapshot = await queue.until(is_snapshot)

    assert [c["call_id"] for c in number_snapshot["calls"]] == ["c1"]
    assert [c["call_id"] for c in queue_snapshot["calls"]] == ["c2"]


async def test_stopping_the_hub_closes_sockets_with_going_away(served: Served) -> None:
    token = await add_agent(served, "ola", [LINE])
    async with agent_socket(served.ws_url, token) as one, agent_socket(served.ws_url, token) as two:
        codes = await asyncio.gather(
            one.closed_with(), two.closed_with(), served.on_server(served.hub.stop())
        )
    assert codes[:2] == [1001, 1001]
    async with agent_socket(served.ws_url, token, snapshot=False) as late:
        assert await late.closed_with() == 1001


async def test_server_shutdown_closes_sockets_with_service_restart(database_url: str) -> None:
    async with serve(create_app(make_settings(database_url))) as served:
        token = await add_agent(served, "ola", [LINE])
        async with agent_socket(served.ws_url, token) as one, agent_socket(served.ws_url, token) as two:
            codes = await asyncio.gather(one.closed_with(), two.closed_with(), served.stop())
    assert codes[:2] == [1012, 1012]
