"""Many supervisors at once against the running service (a real uvicorn, SQLite and PostgreSQL):
what is stored afterwards is exactly what the answers said was done."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.agents.models import Agent
from app.db import create_engine, make_sessionmaker
from app.main import create_app
from tests.agents.team_helpers import make, retrying, signed_in
from tests.conftest import make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, serve

pytestmark = LEGACY_WEBSOCKETS_WARNINGS


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(make_settings(database_url))) as served:
        assert isinstance(served, Served)
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=served.http_url, timeout=60, limits=limits) as client:
            yield client


async def stored_agents(database_url: str) -> dict[str, Agent]:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return {agent.username: agent for agent in await session.scalars(select(Agent))}
    finally:
        await engine.dispose()


async def test_concurrent_adds_store_each_username_once(http: httpx.AsyncClient, database_url: str) -> None:
    boss = await signed_in(http, "bea", "supervisor")
    rng = random.Random(16)
    # 30 adds of 18 usernames: some asked for twice or three times, each time another name.
    usernames = [f"agent{n:02d}" for n in range(18)]
    bodies = [
        {
            "username": username,
            "display_name": f"{username} #{n}",
            "password": f"password-{n:04d}",
            "lines": [f"queue-{n}"],
            "role": rng.choice(["agent", "supervisor"]),
        }
        for n, username in enumerate(usernames + rng.choices(usernames, k=12))
    ]
    rng.shuffle(bodies)

    async def add(body: dict[str, Any]) -> httpx.Response:
        return await retrying(lambda: http.post("/api/v1/team/agents", json=body, headers=boss))

    answers = await asyncio.gather(*(add(body) for body in bodies))

    assert Counter(a.status_code for a in answers) == {201: 18, 409: 12}
    won = {a.json()["username"]: b for a, b in zip(answers, bodies, strict=True) if a.status_code == 201}
    assert sorted(won) == usernames
    for answer, body in zip(answers, bodies, strict=True):
        if answer.status_code == 409:
            assert f"'{body['username']}'" in answer.json()["detail"]
    stored = await stored_agents(database_url)
    assert sorted(stored) == sorted([*usernames, "bea"])
    for username, body in won.items():
        agent = stored[username]
        # The row is the winner's whole body, never a mix of two requests.
        assert (agent.display_name, agent.lines, agent.role) == (
            body["display_name"],
            body["lines"],
            body["role"],
        )
        assert agent.is_active and agent.token_version == 0


async def test_concurrent_line_changes_and_resets_keep_whole_values_and_every_revocation(
    http: httpx.AsyncClient, database_url: str
) -> None:
    boss = await signed_in(http, "bea", "supervisor")
    team = ["ola", "ewa", "zoe"]
    for username in team:
        await make(http, username, lines=["start"])
    rng = random.Random(8)
    work: list[tuple[str, str, dict[str, Any]]] = []
    normalised: dict[int, list[str]] = {}  # what each line change must store, by its number
    for n in range(45):
        username = rng.choice(team)
        roll = rng.random()
        if roll < 0.6:
            work.append((username, "lines", {"lines": [f"queue-{n}", f"+48 22 700 00 {n:02d}"], "n": n}))
            normalised[n] = [f"queue-{n}", f"+482270000{n:02d}"]
        elif roll < 0.8:
            work.append((username, "reset", {}))
        else:
            work.append((username, "active", {"active": rng.random() < 0.5}))

    async def send(username: str, kind: str, body: dict[str, Any]) -> httpx.Response:
        if kind == "reset":
            url = f"/api/v1/team/agents/{username}/password"
            return await retrying(lambda: http.post(url, json=body, headers=boss))
        patch = {k: v for k, v in body.items() if k != "n"}
        return await http.patch(f"/api/v1/team/agents/{username}", json=patch, headers=boss)

    answers = await asyncio.gather(*(send(*item) for item in work))

    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    stored = await stored_agents(database_url)
    for username in team:
        mine = [(kind, body) for name, kind, body in work if name == username]
        agent = stored[username]
        # Whole values: one of the sets sent (normalised), or the first if none was sent.
        sent = [normalised[body["n"]] for kind, body in mine if kind == "lines"]
        assert agent.lines in (sent or [["start"]])
        # Every reset and every deactivation bumped the version: none lost to a concurrent one.
        bumps = sum(1 for kind, body in mine if kind == "reset" or body.get("active") is False)
        assert agent.token_version == bumps, (username, mine)
        actives = [body["active"] for kind, body in mine if kind == "active"]
        assert agent.is_active in (actives or [True])
