"""Who is online, across instances: an agent with a socket open on any live instance shows as
online on the team page whichever instance serves it; a closed socket, a stopped instance and
an instance that died (its row no longer rewritten) show as offline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.agents.presence import EXPIRES_AFTER_S, HEARTBEAT_S, PresenceWriter, online_agents
from app.db import create_engine, make_sessionmaker
from app.main import create_app
from tests.agents.team_helpers import bearer, make, team, token_of
from tests.conftest import ADMIN, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, agent_socket, serve
from tests.push.test_multi_instance import PrivateRedis

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_each_instance_sees_the_others_sockets_until_they_expire_or_stop(sessions: Any) -> None:
    clock = Clock()
    on_a: set[int] = {1}
    on_b: set[int] = {2, 3}
    a = PresenceWriter(sessions, "instance-a", lambda: on_a, clock=clock)
    b = PresenceWriter(sessions, "instance-b", lambda: on_b, clock=clock)
    assert await a.tick() and await b.tick()

    async def seen_by(instance: str, here: set[int]) -> set[int]:
        async with sessions() as session:
            return await online_agents(session, instance_id=instance, here=here, now=clock())

    assert await seen_by("instance-a", on_a) == {1, 2, 3}
    # Its own row does not count for an instance: its hub says what is true this moment.
    assert await seen_by("instance-a", set()) == {2, 3}

    # A change is written at the next tick; no change and no heartbeat due: nothing written.
    on_b.discard(3)
    assert await b.tick()
    assert not await b.tick()
    assert await seen_by("instance-a", on_a) == {1, 2}

    # B dies: nobody rewrites its row. Within the expiry it still counts, after it, it does not.
    clock.advance(HEARTBEAT_S)
    assert await a.tick()  # the heartbeat: A's row stays fresh though A's set is the same
    clock.advance(EXPIRES_AFTER_S - HEARTBEAT_S)
    assert await seen_by("instance-c", set()) == {1, 2}
    clock.advance(1)
    assert await seen_by("instance-c", set()) == {1}

    # A stops cleanly: its row goes at once.
    await a.stop()
    assert await seen_by("instance-c", set()) == set()


async def test_a_database_that_is_away_is_retried_without_failing_the_instance() -> None:
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/ringcard"
    engine = create_engine(unreachable)
    try:
        writer = PresenceWriter(make_sessionmaker(engine), "instance-a", lambda: {1}, poll_s=0.01)
        await writer.start()  # no exception: the loop keeps trying
        assert not await writer.tick()
        await writer.stop()
    finally:
        await engine.dispose()


async def eventually(read: Callable[[], Any], expected: Any, within_s: float = 5.0) -> None:
    for _ in range(int(within_s / 0.05)):
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    assert await read() == expected


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


@pytest.mark.redis
async def test_two_instances_behind_a_balancer_agree_on_who_is_online(
    database_url: str, redis_server: PrivateRedis
) -> None:
    def instance() -> Any:
        return create_app(make_settings(database_url, redis_url=redis_server.url))

    async with (
        serve(instance()) as a,
        serve(instance()) as b,
        httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.http_url, timeout=30) as on_b,
    ):
        await make(on_a, "bea", "supervisor")
        await make(on_a, "ola")
        await make(on_a, "ewa")
        boss = bearer(await token_of(on_a, "bea"))

        async def online(http: httpx.AsyncClient) -> dict[str, bool]:
            return {name: agent["online"] for name, agent in (await team(http, boss)).items()}

        nobody = {"bea": False, "ola": False, "ewa": False}
        assert await online(on_a) == nobody and await online(on_b) == nobody
        async with agent_socket(b.ws_url, await token_of(on_b, "ola")):
            # Ola's socket is on B: A, which holds none of hers, says she is online too.
            await eventually(lambda: online(on_a), {**nobody, "ola": True})
            assert await online(on_b) == {**nobody, "ola": True}
            async with agent_socket(a.ws_url, await token_of(on_a, "ewa")):
                await eventually(lambda: online(on_b), {**nobody, "ola": True, "ewa": True})
            await eventually(lambda: online(on_b), {**nobody, "ola": True})
        await eventually(lambda: online(on_a), nobody)

        # The team page on B follows a demotion made on A at the very next request.
        assert (await on_b.get("/api/v1/team/agents", headers=boss)).status_code == 200
        assert (
            await on_a.patch("/api/v1/agents/bea", json={"role": "agent"}, headers=ADMIN)
        ).status_code == 200
        assert (await on_b.get("/api/v1/team/agents", headers=boss)).status_code == 403

        # An instance that stops takes its sockets' presence with it.
        await make(on_a, "zoe", "admin")
        root = bearer(await token_of(on_a, "zoe"))
        async with agent_socket(b.ws_url, await token_of(on_b, "ewa")) as ewa:
            await eventually(lambda: _online_names(on_a, root), {"ewa"})
            await b.stop()
            await ewa.closed_with()
        assert await _online_names(on_a, root) == set()


async def _online_names(http: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    return {name for name, agent in (await team(http, headers)).items() if agent["online"]}
