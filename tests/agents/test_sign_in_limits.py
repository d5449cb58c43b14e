"""Sign-in limits: a flood from one address or against one username is refused with 429 and a
Retry-After, before any password is hashed; with Redis, every instance counts the same attempts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN, make_settings
from tests.fixtures.services import REDIS_URL, require

PASSWORD = "right-password-123"


@asynccontextmanager
async def client_from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def add_agent(app: FastAPI, username: str) -> None:
    async with client_from(app, "127.0.0.1") as admin:
        response = await admin.post(
            "/api/v1/agents",
            headers=ADMIN,
            json={"username": username, "display_name": "Ola", "password": PASSWORD},
        )
        assert response.status_code == 201, response.text


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", json={"username": username, "password": password})


async def start_of_a_fresh_minute() -> None:
    """The per-address limit counts in fixed one-minute windows: attempts that straddle a minute's
    end are counted in two windows (by design: at most twice the limit, at a boundary). Begin well
    inside one, so that the seven attempts below, slow on a loaded machine, share it."""
    into_minute = time.time() % 60
    if into_minute > 45:
        await asyncio.sleep(60 - into_minute + 0.1)


async def test_one_address_is_refused_after_its_attempts_per_minute(database_url: str) -> None:
    settings = make_settings(database_url, sign_in_per_address_per_minute=5)
    async with running(settings) as app:
        await add_agent(app, "ola")
        await start_of_a_fresh_minute()
        async with client_from(app, "203.0.113.7") as attacker, client_from(app, "198.51.100.2") as ola:
            answers = [(await sign_in(attacker, "ola", f"guess-{i}")).status_code for i in range(7)]
            assert answers == [401] * 5 + [429] * 2
            refused = await sign_in(attacker, "ola", PASSWORD)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert "from this address" in refused.json()["detail"]
            # Someone else, elsewhere, signs in as usual.
            assert (await sign_in(ola, "ola", PASSWORD)).status_code == 200


async def test_failed_attempts_against_one_username_lock_it_from_every_address(database_url: str) -> None:
    settings = make_settings(database_url, sign_in_failures_per_username=3, sign_in_failure_window_s=600)
    async with running(settings) as app:
        await add_agent(app, "ola")
        await add_agent(app, "piotr")
        for i in range(3):
            async with client_from(app, f"203.0.113.{i + 1}") as attacker:
                assert (await sign_in(attacker, "ola", "wrong-password")).status_code == 401
        async with client_from(app, "198.51.100.2") as other:
            locked = await sign_in(other, "ola", PASSWORD)
            assert locked.status_code == 429
            assert "for this username" in locked.json()["detail"]
            assert 1 <= int(locked.headers["retry-after"]) <= 600
            # Only that username: a colleague behind the same address is not affected.
            assert (await sign_in(other, "piotr", PASSWORD)).status_code == 200


async def test_successful_sign_ins_never_lock_an_agent_out(database_url: str) -> None:
    settings = make_settings(database_url, sign_in_failures_per_username=2)
    async with running(settings) as app:
        await add_agent(app, "ola")
        async with client_from(app, "198.51.100.2") as ola:
            assert [(await sign_in(ola, "ola", PASSWORD)).status_code for _ in range(5)] == [200] * 5


async def test_instances_sharing_redis_share_the_counters(database_url: str) -> None:
    require("Redis", "127.0.0.1", 6379)
    # A username of its own: the counters outlive this test in the shared Redis for a window.
    username = f"ola-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        database_url, redis_url=REDIS_URL, sign_in_failures_per_username=4, sign_in_failure_window_s=120
    )
    async with running(settings) as first, running(settings) as second:
        await add_agent(first, username)
        for app in (first, second, first, second):
            async with client_from(app, "203.0.113.9") as attacker:
                assert (await sign_in(attacker, username, "wrong-password")).status_code == 401
        for app in (first, second):
            async with client_from(app, "198.51.100.2") as ola:
                assert (await sign_in(ola, username, PASSWORD)).status_code == 429
