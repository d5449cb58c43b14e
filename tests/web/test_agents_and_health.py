"""Operators create agents; agents sign in; the service reports its health."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.agents.password_rule import PASSWORD_RULE
from app.db import create_engine
from app.db.migrate import upgrade
from app.main import create_app
from tests.conftest import ADMIN, BACKENDS, _pg_admin, in_own_thread, make_settings
from tests.fixtures.services import PG_ADMIN_DSN
from tests.fixtures.throwaway_services import free_port


async def test_an_agent_created_by_the_operator_can_sign_in(app_client: httpx.AsyncClient) -> None:
    created = await app_client.post(
        "/api/v1/agents",
        json={
            "username": "ola",
            "display_name": "Ola K.",
            "password": "correct horse",
            "lines": ["+48 22 123 45 67", "sales"],
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    assert created.json()["lines"] == ["+48221234567", "sales"]

    token = await app_client.post("/auth/token", json={"username": "ola", "password": "correct horse"})
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await app_client.get(
        "/api/v1/agents/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["username"] == "ola"


async def test_sign_in_refuses_wrong_passwords_and_strangers(app_client: httpx.AsyncClient) -> None:
    await app_client.post(
        "/api/v1/agents",
        json={"username": "ola", "display_name": "Ola", "password": "correct horse"},
        headers=ADMIN,
    )
    wrong = await app_client.post("/auth/token", json={"username": "ola", "password": "wrong horse"})
    stranger = await app_client.post("/auth/token", json={"username": "nobody", "password": "correct horse"})
    assert wrong.status_code == stranger.status_code == 401
    forged = await app_client.get(
        "/api/v1/agents/me", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
    )
    assert forged.status_code == 401


async def test_agent_creation_needs_the_admin_key_and_a_free_username(app_client: httpx.AsyncClient) -> None:
    body = {"username": "ola", "display_name": "Ola", "password": "correct horse"}
    assert (await app_client.post("/api/v1/agents", json=body)).status_code == 401
    assert (await app_client.post("/api/v1/agents", json=body, headers=ADMIN)).status_code == 201
    dup = await app_client.post("/api/v1/agents", json=body, headers=ADMIN)
    assert dup.status_code == 409 and "ola" in dup.json()["detail"]
    short = await app_client.post(
        "/api/v1/agents", json={**body, "username": "x", "password": "short"}, headers=ADMIN
    )
    # The one rule of the API and the CLI, in the same words (app/agents/password_rule.py).
    assert short.status_code == 422
    assert (
        short.json()["error"]
        == f"password: {PASSWORD_RULE}"
        == "password: at least 8 characters (at most 1024)"
    )
    assert (
        await app_client.post(
            "/api/v1/agents", json={**body, "username": "y", "password": "x" * 1025}, headers=ADMIN
        )
    ).status_code == 422


async def test_health_and_readiness(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    ready = await app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    metrics = await app_client.get("/metrics")
    assert metrics.status_code == 200 and "python_info" in metrics.text


@pytest.fixture(params=BACKENDS)
async def unmigrated_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database of the test's own that no migration has touched."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('unmigrated') / 'ringcard.db'}"
        return
    name = f"ringcard_unmigrated_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def readiness(database_url: str) -> httpx.Response:
    # A secret key of its own: without one the app would read its signing key from the schema.
    app = create_app(make_settings(database_url, secret_key="k" * 40))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/readyz")


async def test_an_unmigrated_or_older_schema_is_not_ready_and_says_so(unmigrated_url: str) -> None:
    """Before, /readyz said ready while /auth/token answered 500 (no such table: agents)."""
    never = await readiness(unmigrated_url)
    assert never.status_code == 503
    assert never.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "migrations": "not migrated: run `ringcard migrate`", "broker": "ok"},
    }
    in_own_thread(upgrade, unmigrated_url, "55350260cec2")  # the first migration only
    older = (await readiness(unmigrated_url)).json()
    assert older["status"] == "not ready"
    assert older["checks"]["migrations"].startswith("behind (at 55350260cec2, head is ")
    assert older["checks"]["migrations"].endswith("): run `ringcard migrate`")
    in_own_thread(upgrade, unmigrated_url)
    at_head = await readiness(unmigrated_url)
    assert at_head.status_code == 200 and at_head.json()["checks"]["migrations"] == "ok"


async def test_a_database_that_is_away_is_not_ready(app_client: httpx.AsyncClient) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    working = app.state.engine
    app.state.engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/ringcard")
    try:
        away = await app_client.get("/readyz")
    finally:
        await app.state.engine.dispose()
        app.state.engine = working
    assert away.status_code == 503
    assert away.json()["checks"]["database"].startswith("unavailable: ")
    assert away.json()["checks"]["migrations"] == "unknown: the database is unavailable"
