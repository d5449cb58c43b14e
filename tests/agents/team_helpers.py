"""What the team tests share: agents of a given role made through the admin API, signed in."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import ADMIN

PASSWORD = "correct horse"
LINE = "+48221234567"


async def make(
    http: httpx.AsyncClient, username: str, role: str = "agent", *, lines: list[str] | None = None
) -> dict[str, Any]:
    body = {
        "username": username,
        "display_name": username.title(),
        "password": PASSWORD,
        "lines": lines or [LINE],
        "role": role,
    }
    created = await http.post("/api/v1/agents", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    record: dict[str, Any] = created.json()
    return record


async def token_of(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    answer = await http.post("/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def signed_in(http: httpx.AsyncClient, username: str, role: str = "agent") -> dict[str, str]:
    """A new agent of `role`, signed in: the headers its console sends."""
    await make(http, username, role)
    return bearer(await token_of(http, username))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def retrying(send: Any) -> httpx.Response:
    """Send until the answer is not 503 (the hashing threads were full; nothing was written),
    waiting what Retry-After says, as a client should."""
    for _ in range(100):
        answer: httpx.Response = await send()
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")) / 10)
    raise AssertionError("still 503 after 100 tries")


async def team(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The team page's list, by username."""
    answer = await http.get("/api/v1/team/agents", headers=headers)
    assert answer.status_code == 200, answer.text
    return {agent["username"]: agent for agent in answer.json()}
