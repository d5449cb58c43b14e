"""The team page's API: supervisors and admins list the agents, add, deactivate and reactivate
them, set their lines and reset their passwords; plain agents are refused; only an admin touches
admins; the caller's role is the database's at each request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.agents.models import Agent
from app.db import create_engine, make_sessionmaker
from tests.agents.team_helpers import PASSWORD, bearer, make, signed_in, team, token_of
from tests.conftest import ADMIN

NEW_AGENT = {
    "username": "kasia",
    "display_name": "Kasia Zielińska",
    "password": "first-day-password",
    "lines": ["+48 22 765 43 21", "returns"],
}


async def stored(database_url: str, username: str) -> Agent | None:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            agent: Agent | None = await session.scalar(select(Agent).where(Agent.username == username))
            return agent
    finally:
        await engine.dispose()


async def test_a_supervisor_adds_an_agent_who_then_signs_in(app_client: httpx.AsyncClient) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    added = await app_client.post("/api/v1/team/agents", json=NEW_AGENT, headers=boss)
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["username"], body["display_name"], body["role"], body["active"], body["online"]) == (
        "kasia",
        "Kasia Zielińska",
        "agent",
        True,
        False,
    )
    assert body["lines"] == ["+48227654321", "returns"]
    assert "password" not in added.text

    token = await token_of(app_client, "kasia", "first-day-password")
    me = await app_client.get("/api/v1/agents/me", headers=bearer(token))
    assert me.json()["role"] == "agent" and me.json()["display_name"] == "Kasia Zielińska"
    listed = await team(app_client, boss)
    assert sorted(listed) == ["bea", "kasia"] and listed["bea"]["role"] == "supervisor"

    taken = await app_client.post("/api/v1/team/agents", json=NEW_AGENT, headers=boss)
    assert taken.status_code == 409 and "'kasia'" in taken.json()["detail"]


async def test_plain_agents_have_no_team_page(app_client: httpx.AsyncClient, database_url: str) -> None:
    ola = await signed_in(app_client, "ola")
    for method, url, body in (
        ("GET", "/api/v1/team/agents", None),
        ("POST", "/api/v1/team/agents", NEW_AGENT),
        ("PATCH", "/api/v1/team/agents/ola", {"lines": ["*"]}),
        ("POST", "/api/v1/team/agents/ola/password", {}),
        # Refused before the username is looked at: no probing for who exists.
        ("PATCH", "/api/v1/team/agents/nobody", {"active": False}),
    ):
        answer = await app_client.request(method, url, json=body, headers=ola)
        assert answer.status_code == 403, (url, answer.text)
        assert answer.json()["detail"] == "the team page is for supervisors and admins; your role is agent"
    assert await stored(database_url, "kasia") is None
    assert (await app_client.get("/api/v1/team/agents")).status_code == 401
    # The operator's admin key is not an agent: the team page is the agents' own.
    assert (await app_client.get("/api/v1/team/agents", headers=ADMIN)).status_code == 401


async def test_a_demoted_supervisor_loses_the_team_page_at_the_next_request(
    app_client: httpx.AsyncClient,
) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    assert (await app_client.get("/api/v1/team/agents", headers=boss)).status_code == 200
    demoted = await app_client.patch("/api/v1/agents/bea", json={"role": "agent"}, headers=ADMIN)
    assert demoted.status_code == 200 and demoted.json()["role"] == "agent"
    # The same token, unchanged: the role is read from the database, not from the token.
    refused = await app_client.get("/api/v1/team/agents", headers=boss)
    assert refused.status_code == 403 and "your role is agent" in refused.json()["detail"]
    assert (await app_client.get("/api/v1/agents/me", headers=boss)).json()["role"] == "agent"
    await app_client.patch("/api/v1/agents/bea", json={"role": "supervisor"}, headers=ADMIN)
    assert (await app_client.get("/api/v1/team/agents", headers=boss)).status_code == 200


async def test_deactivating_signs_the_agent_out_and_reactivating_lets_it_sign_in_again(
    app_client: httpx.AsyncClient,
) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    ola = await signed_in(app_client, "ola")
    off = await app_client.patch("/api/v1/team/agents/ola", json={"active": False}, headers=boss)
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await app_client.get("/api/v1/calls", headers=ola)).status_code == 401
    refused = await app_client.post("/auth/token", json={"username": "ola", "password": PASSWORD})
    assert refused.status_code == 401

    on = await app_client.patch("/api/v1/team/agents/ola", json={"active": True}, headers=boss)
    assert on.status_code == 200 and on.json()["active"] is True
    fresh = bearer(await token_of(app_client, "ola"))
    assert (await app_client.get("/api/v1/calls", headers=fresh)).status_code == 200
    assert (await app_client.get("/api/v1/calls", headers=ola)).status_code == 401  # the old stays dead


async def test_setting_lines_changes_who_the_line_rings(app_client: httpx.AsyncClient) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    await make(app_client, "ola", lines=["sales"])
    directory = app_client.app.state.directory  # type: ignore[attr-defined]
    assert await directory.agents_for("+48227654321") == []
    changed = await app_client.patch(
        "/api/v1/team/agents/ola", json={"lines": ["+48 22 765 43 21", "sales"]}, headers=boss
    )
    assert changed.status_code == 200 and changed.json()["lines"] == ["+48227654321", "sales"]
    assert await directory.agents_for("+48227654321") == ["ola"]


async def test_a_reset_password_is_shown_once_and_the_old_tokens_stop_working(
    app_client: httpx.AsyncClient,
) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    ola = await signed_in(app_client, "ola")
    reset = await app_client.post("/api/v1/team/agents/ola/password", json={}, headers=boss)
    assert reset.status_code == 200, reset.text
    generated = reset.json()["generated_password"]
    assert reset.json()["username"] == "ola" and len(generated) == 14
    assert (await app_client.get("/api/v1/calls", headers=ola)).status_code == 401
    old = await app_client.post("/auth/token", json={"username": "ola", "password": PASSWORD})
    assert old.status_code == 401
    new = bearer(await token_of(app_client, "ola", generated))

    chosen = await app_client.post(
        "/api/v1/team/agents/ola/password", json={"password": "chosen by bea"}, headers=boss
    )
    assert chosen.status_code == 200 and chosen.json()["generated_password"] is None
    assert (await app_client.get("/api/v1/calls", headers=new)).status_code == 401
    await token_of(app_client, "ola", "chosen by bea")
    # Two resets give two different passwords.
    again = await app_client.post("/api/v1/team/agents/ola/password", json={}, headers=boss)
    assert again.json()["generated_password"] != generated


async def test_only_an_admin_touches_admins(app_client: httpx.AsyncClient, database_url: str) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    root = await signed_in(app_client, "ada", "admin")
    await make(app_client, "ola")
    refusals: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "role": "admin"}, "role: only an admin"),
        ("PATCH", "/api/v1/team/agents/ola", {"role": "admin"}, "role: only an admin"),
        ("PATCH", "/api/v1/team/agents/ada", {"lines": ["sales"]}, "only an admin may change an admin (ada)"),
        ("PATCH", "/api/v1/team/agents/ada", {"role": "agent"}, "only an admin may change an admin"),
        ("PATCH", "/api/v1/team/agents/ada", {"active": False}, "only an admin may change an admin"),
        ("PATCH", "/api/v1/team/agents/ada", {}, "only an admin may change an admin"),
        ("POST", "/api/v1/team/agents/ada/password", {}, "only an admin may change an admin"),
        ("PATCH", "/api/v1/team/agents/bea", {"active": False}, "you cannot deactivate yourself"),
        ("PATCH", "/api/v1/team/agents/bea", {"role": "agent"}, "you cannot change your own role"),
    ]
    for method, url, body, reason in refusals:
        answer = await app_client.request(method, url, json=body, headers=boss)
        assert answer.status_code == 403 and reason in answer.json()["detail"], (url, body, answer.text)
    ada, ola = await stored(database_url, "ada"), await stored(database_url, "ola")
    assert ada is not None and (ada.role, ada.is_active, ada.lines, ada.token_version) == (
        "admin",
        True,
        ["+48221234567"],
        0,
    )
    assert ola is not None and ola.role == "agent"
    assert await stored(database_url, "kasia") is None
    assert (await app_client.get("/api/v1/team/agents", headers=root)).status_code == 200  # ada still in

    # A supervisor makes supervisors; an admin makes and unmakes admins and changes them.
    made = await app_client.patch("/api/v1/team/agents/ola", json={"role": "supervisor"}, headers=boss)
    assert made.status_code == 200 and made.json()["role"] == "supervisor"
    for body in ({"role": "admin"}, {"lines": ["sales"]}, {"role": "agent"}):
        answer = await app_client.patch("/api/v1/team/agents/ola", json=body, headers=root)
        assert answer.status_code == 200, answer.text
    assert (await app_client.patch("/api/v1/team/agents/bea", json={"active": False}, headers=root)).json()[
        "active"
    ] is False
    added = await app_client.post("/api/v1/team/agents", json={**NEW_AGENT, "role": "admin"}, headers=root)
    assert added.status_code == 201 and added.json()["role"] == "admin"
    selfish = await app_client.patch("/api/v1/team/agents/ada", json={"active": False}, headers=root)
    assert selfish.status_code == 403 and "yourself" in selfish.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "password": "short"}, "password"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "role": "owner"}, "role"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "username": "ka sia"}, "username"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "lines": [""]}, "lines.0"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "lines": ["x"] * 501}, "lines"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "display_name": ""}, "display_name"),
        ("POST", "/api/v1/team/agents", {k: v for k, v in NEW_AGENT.items() if k != "password"}, "password"),
        ("POST", "/api/v1/team/agents", {**NEW_AGENT, "is_admin": True}, "is_admin"),
        ("PATCH", "/api/v1/team/agents/ola", {"lines": "sales", "active": False}, "lines"),
        ("PATCH", "/api/v1/team/agents/ola", {"role": None}, "role"),
        ("PATCH", "/api/v1/team/agents/ola", {"active": "no", "lines": ["x"]}, "active"),
        ("PATCH", "/api/v1/team/agents/ola", {"role": "owner", "active": False}, "role"),
        ("POST", "/api/v1/team/agents/ola/password", {"password": "short"}, "password"),
        ("POST", "/api/v1/team/agents/ola/password", {"password": None, "x": 1}, "x"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    app_client: httpx.AsyncClient, database_url: str, method: str, url: str, body: Any, field: str
) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    await make(app_client, "ola")
    before = await stored(database_url, "ola")
    answer = await app_client.request(method, url, json=body, headers=boss)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith(f"{field}:"), answer.json()
    after = await stored(database_url, "ola")
    assert before is not None and after is not None
    assert (after.lines, after.is_active, after.role, after.token_version, after.password_hash) == (
        before.lines,
        before.is_active,
        before.role,
        before.token_version,
        before.password_hash,
    )
    assert await stored(database_url, "kasia") is None
    assert await stored(database_url, "ka sia") is None


async def test_no_client_input_makes_a_500(app_client: httpx.AsyncClient) -> None:
    boss = await signed_in(app_client, "bea", "supervisor")
    for method, url, content in (
        ("POST", "/api/v1/team/agents", b"not json"),
        ("POST", "/api/v1/team/agents", b"[1, 2]"),
        ("PATCH", "/api/v1/team/agents/" + "x" * 5000, b'{"active": false}'),
        ("PATCH", "/api/v1/team/agents/%00", b'{"active": false}'),
        ("POST", "/api/v1/team/agents/" + "%F0%9F%98%80" * 30 + "/password", b"{}"),
        ("POST", "/api/v1/team/agents/nobody/password", b"{}"),
        ("PATCH", "/api/v1/team/agents/bea", b'{"role": ["admin"]}'),
    ):
        headers = {**boss, "Content-Type": "application/json"}
        answer = await app_client.request(method, url, content=content, headers=headers)
        assert answer.status_code < 500, (method, url, answer.status_code, answer.text)
    missing = await app_client.patch("/api/v1/team/agents/nobody", json={"lines": []}, headers=boss)
    assert missing.status_code == 404 and "'nobody'" in missing.json()["detail"]
