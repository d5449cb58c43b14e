"""Operators create agents; agents sign in; the service reports its health."""

from __future__ import annotations

import httpx

from app.agents.password_rule import PASSWORD_RULE
from tests.conftest import ADMIN


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
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = await app_client.get("/metrics")
    assert metrics.status_code == 200 and "python_info" in metrics.text
