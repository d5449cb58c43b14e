"""Agent management by the operator (admin API and CLI): list, change, delete; a deactivated,
deleted or re-passworded agent's tokens stop working at once on REST and on every socket, on every
instance; a limit of sockets per agent where the newest wins."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from app.agents.changes import AgentChange
from app.agents.models import Agent
from app.agents.tokens import AgentClaims, issue_token, read_token
from app.db import create_engine, make_sessionmaker
from app.main import create_app
from app.push.envelopes import decode_wire, encode_agent_change
from tests.conftest import ADMIN, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, serve
from tests.push.test_multi_instance import PrivateRedis

pytestmark = LEGACY_WEBSOCKETS_WARNINGS

LINE = "+48221234567"
PASSWORD = "correct horse"
CTI_TOKEN = "cti-token-for-agent-management-tests"
REPO = Path(__file__).resolve().parents[2]


# --- helpers -------------------------------------------------------------------------------------


async def make_agent(
    http: httpx.AsyncClient, username: str, *, lines: list[str] | None = None, password: str = PASSWORD
) -> dict[str, Any]:
    body = {
        "username": username,
        "display_name": username.title(),
        "password": password,
        "lines": lines or [LINE],
    }
    created = await http.post("/api/v1/agents", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    record: dict[str, Any] = created.json()
    return record


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/auth/token", json={"username": username, "password": password})


async def token_of(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    answer = await sign_in(http, username, password)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def patch(http: httpx.AsyncClient, username: str, body: dict[str, Any]) -> httpx.Response:
    return await http.patch(f"/api/v1/agents/{username}", json=body, headers=ADMIN)


async def stored_agent(database_url: str, username: str) -> Agent | None:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            agent: Agent | None = await session.scalar(select(Agent).where(Agent.username == username))
            return agent
    finally:
        await engine.dispose()


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    app = create_app(make_settings(database_url, cti_token=CTI_TOKEN, max_sockets_per_agent=2))
    async with serve(app) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as client:
        yield client


# --- the admin API -------------------------------------------------------------------------------


async def test_admins_list_change_and_delete_agents(app_client: httpx.AsyncClient) -> None:
    await make_agent(app_client, "zosia", lines=["sales"])
    ola = await make_agent(app_client, "ola")

    listed = await app_client.get("/api/v1/agents", headers=ADMIN)
    assert listed.status_code == 200
    agents = listed.json()
    assert [a["username"] for a in agents] == ["ola", "zosia"]
    assert set(agents[0]) == {
        "id",
        "username",
        "display_name",
        "lines",
        "phone",
        "active",
        "created_at",
        "role",
    }
    assert agents[0]["id"] == ola["id"] and agents[0]["active"] is True and agents[0]["lines"] == [LINE]
    assert agents[0]["role"] == "agent"
    assert "password" not in listed.text and "argon2" not in listed.text

    changed = await patch(
        app_client,
        "ola",
        {"display_name": "  Ola K. ", "lines": ["+48 22 765 43 21", "returns"], "phone": "201"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["display_name"], body["lines"], body["phone"]) == (
        "Ola K.",
        ["+48227654321", "returns"],
        "201",
    )
    assert (await patch(app_client, "ola", {"phone": None})).json()["phone"] is None
    assert (await patch(app_client, "ola", {})).json()["display_name"] == "Ola K."  # nothing to change
    me = await app_client.get("/api/v1/agents/me", headers=bearer(await token_of(app_client, "ola")))
    assert me.json()["display_name"] == "Ola K."

    assert (await app_client.delete("/api/v1/agents/zosia", headers=ADMIN)).status_code == 204
    assert [a["username"] for a in (await app_client.get("/api/v1/agents", headers=ADMIN)).json()] == ["ola"]
    again = await app_client.delete("/api/v1/agents/zosia", headers=ADMIN)
    assert again.status_code == 404 and "zosia" in again.json()["detail"]
    unknown = await patch(app_client, "nobody", {"display_name": "X"})
    assert unknown.status_code == 404 and "'nobody'" in unknown.json()["detail"]


async def test_managing_agents_needs_the_admin_key(app_client: httpx.AsyncClient) -> None:
    await make_agent(app_client, "ola")
    agent_token = await token_of(app_client, "ola")
    for headers in ({}, bearer("wrong-admin-key-0123456789"), bearer(agent_token)):
        assert (await app_client.get("/api/v1/agents", headers=headers)).status_code == 401
        assert (
            await app_client.patch("/api/v1/agents/ola", json={"active": False}, headers=headers)
        ).status_code == 401
        assert (await app_client.delete("/api/v1/agents/ola", headers=headers)).status_code == 401
        # Refused before the username is even looked at: no probing for who exists.
        assert (await app_client.delete("/api/v1/agents/nobody", headers=headers)).status_code == 401
    assert (await app_client.get("/api/v1/agents/me", headers=bearer(agent_token))).status_code == 200


async def test_the_admin_api_is_off_without_an_admin_key(database_url: str) -> None:
    app = create_app(make_settings(database_url, admin_api_key=None))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert (await client.get("/api/v1/agents", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "short"}, "password"),
        ({"display_name": None}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"lines": [""]}, "lines.0"),
        ({"lines": ["x"] * 501}, "lines"),
        ({"lines": "sales"}, "lines"),
        ({"active": "no"}, "active"),
        ({"active": None}, "active"),
        ({"phone": "1" * 65}, "phone"),
        ({"username": "other"}, "username"),
        ({"display_name": "a\u0000b"}, "display_name"),
    ],
)
async def test_bad_values_are_422_naming_the_field(
    app_client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await make_agent(app_client, "ola")
    answer = await patch(app_client, "ola", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith(f"{field}:"), answer.json()
    assert (await app_client.get("/api/v1/agents", headers=ADMIN)).json()[0]["display_name"] == "Ola"


async def test_no_client_input_makes_a_500(app_client: httpx.AsyncClient) -> None:
    await make_agent(app_client, "ola")
    odd = [
        ("PATCH", "/api/v1/agents/ola", b"not json"),
        ("PATCH", "/api/v1/agents/ola", b"[1, 2]"),
        ("PATCH", "/api/v1/agents/" + "x" * 5000, b'{"active": false}'),
        ("PATCH", "/api/v1/agents/%00", b'{"active": false}'),
        ("DELETE", "/api/v1/agents/" + "%F0%9F%98%80" * 30, b""),
        ("PATCH", "/api/v1/agents/ola", b'{"lines": [1, 2]}'),
        ("PATCH", "/api/v1/agents/ola", b'{"active": false, "active": true}'),
    ]
    for method, url, content in odd:
        headers = {**ADMIN, "Content-Type": "application/json"}
        answer = await app_client.request(method, url, content=content, headers=headers)
        assert answer.status_code < 500, (method, url, answer.status_code, answer.text)


# --- tokens stop working at once -----------------------------------------------------------------


async def test_deactivation_cuts_rest_access_at_the_next_request(app_client: httpx.AsyncClient) -> None:
    await make_agent(app_client, "ola")
    token = await token_of(app_client, "ola")
    assert (await app_client.get("/api/v1/calls", headers=bearer(token))).status_code == 200

    assert (await patch(app_client, "ola", {"active": False})).json()["active"] is False
    refused = await app_client.get("/api/v1/calls", headers=bearer(token))
    assert refused.status_code == 401 and "sign in again" in refused.json()["detail"]
    assert (await app_client.get("/api/v1/lookup?number=601234567", headers=bearer(token))).status_code == 401
    assert (await sign_in(app_client, "ola")).status_code == 401

    # Reactivated, the agent signs in again; the token from before stays dead.
    assert (await patch(app_client, "ola", {"active": True})).status_code == 200
    fresh = await token_of(app_client, "ola")
    assert (await app_client.get("/api/v1/calls", headers=bearer(fresh))).status_code == 200
    assert (await app_client.get("/api/v1/calls", headers=bearer(token))).status_code == 401


async def test_a_new_password_revokes_old_tokens_and_signs_in(app_client: httpx.AsyncClient) -> None:
    await make_agent(app_client, "ola")
    old = await token_of(app_client, "ola")
    assert (await patch(app_client, "ola", {"password": "battery staple"})).status_code == 200

    assert (await app_client.get("/api/v1/agents/me", headers=bearer(old))).status_code == 401
    assert (await sign_in(app_client, "ola")).status_code == 401
    new = await token_of(app_client, "ola", "battery staple")
    assert (await app_client.get("/api/v1/agents/me", headers=bearer(new))).json()["username"] == "ola"
    # A change that revokes nothing keeps the new token working.
    assert (await patch(app_client, "ola", {"display_name": "Ola K."})).status_code == 200
    assert (await app_client.get("/api/v1/calls", headers=bearer(new))).status_code == 200


async def test_the_token_carries_the_version_and_tokens_from_before_versions_still_work() -> None:
    key = "k" * 40
    claims = read_token(key, issue_token(key, AgentClaims(7, "ola", "Ola", 3), ttl_s=60))
    assert claims == AgentClaims(7, "ola", "Ola", 3)
    legacy = jwt.encode(
        {"sub": "7", "usr": "ola", "name": "Ola", "aud": "ringcard-agent", "exp": 4102444800}, key, "HS256"
    )
    assert read_token(key, legacy) == AgentClaims(7, "ola", "Ola", 0)
    odd = jwt.encode(
        {"sub": "7", "usr": "ola", "name": "Ola", "ver": "3", "aud": "ringcard-agent", "exp": 4102444800},
        key,
        "HS256",
    )
    assert read_token(key, odd) is None


async def test_a_deleted_agent_stays_in_the_call_log_and_its_username_is_free(
    served: Served, http: httpx.AsyncClient
) -> None:
    ola = await make_agent(http, "ola")
    await make_agent(http, "ewa")
    ola_token, ewa_token = await token_of(http, "ola"), await token_of(http, "ewa")
    url = f"/webhooks/cti/{CTI_TOKEN}"
    call = {"from": "+48601234567", "to": LINE, "direction": "in", "callId": "pbx-1"}
    for step in ({"event": "newCall"}, {"event": "answer", "user": "ola"}, {"event": "hangup"}):
        assert (await http.post(url, data={**call, **step})).status_code == 200
    await served.on_server(served.app.state.intake.drain())
    (logged,) = (await http.get("/api/v1/calls", headers=bearer(ola_token))).json()
    noted = await http.post(
        f"/api/v1/calls/{logged['id']}/note", json={"text": "wants a refund"}, headers=bearer(ola_token)
    )
    assert noted.status_code == 200, noted.text

    assert (await http.delete("/api/v1/agents/ola", headers=ADMIN)).status_code == 204
    (kept,) = (await http.get("/api/v1/calls", headers=bearer(ewa_token))).json()
    assert (kept["answered_by"], kept["noted_by"], kept["note"]) == ("ola", "Ola", "wants a refund")
    assert (await http.get("/api/v1/calls", headers=bearer(ola_token))).status_code == 401

    # The username is free again, under a new id: the old token does not open the new agent.
    again = await make_agent(http, "ola")
    assert again["id"] != ola["id"]
    assert (await http.get("/api/v1/calls", headers=bearer(ola_token))).status_code == 401
    assert (await http.get("/api/v1/calls", headers=bearer(await token_of(http, "ola")))).status_code == 200


async def test_deleting_the_newest_agent_never_hands_its_id_to_the_next(
    app_client: httpx.AsyncClient,
) -> None:
    first = await make_agent(app_client, "ola")
    assert (await app_client.delete("/api/v1/agents/ola", headers=ADMIN)).status_code == 204
    assert (await make_agent(app_client, "ewa"))["id"] > first["id"]


# --- sockets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"password": "battery staple"}, None],
    ids=["deactivated", "new-password", "deleted"],
)
async def test_revoking_an_agent_closes_its_open_sockets_with_4401(
    served: Served, http: httpx.AsyncClient, change: dict[str, Any] | None
) -> None:
    await make_agent(http, "ola")
    await make_agent(http, "ewa")
    ola_token, ewa_token = await token_of(http, "ola"), await token_of(http, "ewa")
    async with agent_socket(served.ws_url, ola_token) as ola, agent_socket(served.ws_url, ewa_token) as ewa:
        answer = await (
            patch(http, "ola", change) if change else http.delete("/api/v1/agents/ola", headers=ADMIN)
        )
        assert answer.status_code in (200, 204), answer.text
        assert await ola.closed_with() == 4401
        await ewa.send({"type": "ping"})
        assert (await ewa.next())["type"] == "pong"
    async with agent_socket(served.ws_url, ola_token, snapshot=False) as again:
        assert await again.closed_with() == 4401
    if change == {"password": "battery staple"}:
        async with agent_socket(served.ws_url, await token_of(http, "ola", "battery staple")) as fresh:
            assert fresh.received[0]["type"] == "snapshot"


async def test_the_call_directory_forgets_a_deactivated_agent_at_once(
    served: Served, http: httpx.AsyncClient
) -> None:
    await make_agent(http, "ola")
    await make_agent(http, "ewa")
    directory = served.app.state.directory
    await served.on_server(directory.load())
    assert await served.on_server(directory.agents_for(LINE)) == ["ewa", "ola"]
    assert (await patch(http, "ola", {"active": False})).status_code == 200
    assert await served.on_server(directory.agents_for(LINE)) == ["ewa"]
    assert (await http.delete("/api/v1/agents/ewa", headers=ADMIN)).status_code == 204
    assert await served.on_server(directory.agents_for(LINE)) == []


async def test_one_socket_too_many_closes_the_agents_oldest_with_4409(
    served: Served, http: httpx.AsyncClient
) -> None:
    await make_agent(http, "ola")
    await make_agent(http, "ewa")
    ola_token, ewa_token = await token_of(http, "ola"), await token_of(http, "ewa")
    async with (
        agent_socket(served.ws_url, ewa_token) as ewa,
        agent_socket(served.ws_url, ola_token) as first,
        agent_socket(served.ws_url, ola_token) as second,
    ):
        async with agent_socket(served.ws_url, ola_token) as third:  # the limit is 2 here
            assert await first.closed_with() == 4409
            for still_open in (second, third, ewa):
                await still_open.send({"type": "ping"})
                assert (await still_open.next())["type"] == "pong"
        # A tab closed makes room: the next one replaces nobody.
        async with agent_socket(served.ws_url, ola_token) as fourth:
            for still_open in (second, fourth):
                await still_open.send({"type": "ping"})
                assert (await still_open.next())["type"] == "pong"

    async def open_sockets() -> int:
        return served.hub.connection_count

    await wait_for(open_sockets, 0)  # the server notices the closes a moment after the clients


async def test_a_revocation_the_broker_lost_is_caught_by_the_recheck(
    served: Served, http: httpx.AsyncClient, database_url: str
) -> None:
    await make_agent(http, "ola")
    async with agent_socket(served.ws_url, await token_of(http, "ola")) as ola:
        # Changed behind the service's back (as the CLI does without Redis): nobody told the hub.
        engine = create_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                agent = await session.scalar(select(Agent).where(Agent.username == "ola"))
                assert agent is not None
                agent.is_active = False
        finally:
            await engine.dispose()
        assert await served.on_server(served.hub.recheck_agents()) == 1
        assert await ola.closed_with() == 4401


def test_agent_changes_cross_instances_intact() -> None:
    for change in (AgentChange(7), AgentChange(7, revoke_below=3), AgentChange(7, revoke_all=True)):
        message = decode_wire(encode_agent_change(change, "instance-a"))
        assert (message.origin, message.event, message.agent) == ("instance-a", None, change)
    for bad in (
        b'{"v":1,"kind":"agent","origin":"x","agent_id":"7","revoke_below":null,"revoke_all":false}\n',
        b'{"v":1,"kind":"agent","origin":"x","agent_id":true,"revoke_below":null,"revoke_all":false}\n',
        b'{"v":1,"kind":"agent","origin":"x","agent_id":7,"revoke_below":1.5,"revoke_all":false}\n',
        b'{"v":1,"kind":"agent","origin":"x","agent_id":7}\n',
    ):
        with pytest.raises(ValueError, match="malformed agent change"):
            decode_wire(bad)


# --- several instances ---------------------------------------------------------------------------


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


@pytest.mark.redis
async def test_a_change_on_one_instance_cuts_the_agent_off_on_another(
    database_url: str, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    def instance() -> Any:
        return create_app(make_settings(database_url, redis_url=redis_server.url, cti_token=CTI_TOKEN))

    async with (
        serve(instance()) as a,
        serve(instance()) as b,
        httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.http_url, timeout=30) as on_b,
    ):
        await make_agent(on_a, "ola")
        await make_agent(on_a, "ewa")
        token = await token_of(on_b, "ola")
        directory = b.app.state.directory
        await b.on_server(directory.load())
        assert await b.on_server(directory.agents_for(LINE)) == ["ewa", "ola"]
        async with agent_socket(b.ws_url, token) as ola_on_b:
            assert (await patch(on_a, "ola", {"active": False})).status_code == 200
            # The very next request on the other instance: refused, no waiting for any message.
            assert (await on_b.get("/api/v1/calls", headers=bearer(token))).status_code == 401
            assert await ola_on_b.closed_with() == 4401
        await wait_for(lambda: b.on_server(directory.agents_for(LINE)), ["ewa"])

        # The CLI in its own process tells the instances through Redis too.
        token = await token_of(on_b, "ewa")
        async with agent_socket(b.ws_url, token) as ewa_on_b:
            done = await ringcard(
                tmp_path, database_url, "update-agent", "ewa", "--deactivate", redis_url=redis_server.url
            )
            assert done.returncode == 0, done.stderr
            assert await ewa_on_b.closed_with() == 4401
        await wait_for(lambda: b.on_server(directory.agents_for(LINE)), [])


async def wait_for(read: Any, expected: Any, within_s: float = 5.0) -> None:
    """Poll `read` until it returns `expected` (a reload in the background is being awaited)."""
    for _ in range(int(within_s / 0.02)):
        if await read() == expected:
            return
        await asyncio.sleep(0.02)
    assert await read() == expected


# --- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_changes_keep_one_written_value_and_count_every_revocation(
    served: Served, http: httpx.AsyncClient, database_url: str
) -> None:
    await make_agent(http, "ola")
    rng = random.Random(12)
    bodies: list[dict[str, Any]] = []
    for n in range(60):
        roll = rng.random()
        if roll < 0.1:
            bodies.append({"password": f"password-{n:04d}", "display_name": f"name-{n}"})
        elif roll < 0.45:
            bodies.append({"active": False, "display_name": f"name-{n}"})
        elif roll < 0.6:
            bodies.append({"active": True})
        else:
            bodies.append({"display_name": f"name-{n}", "lines": [f"queue-{n}"]})

    answers = await asyncio.gather(*(patch(http, "ola", body) for body in bodies))

    # 503 is allowed only for a password when the hashing threads are saturated (nothing written).
    assert all(
        a.status_code == 200 or (a.status_code == 503 and "password" in b)
        for a, b in zip(answers, bodies, strict=True)
    )
    applied = [b for a, b in zip(answers, bodies, strict=True) if a.status_code == 200]
    bumps = sum(1 for b in applied if "password" in b or b.get("active") is False)
    stored = await stored_agent(database_url, "ola")
    assert stored is not None
    assert stored.token_version == bumps
    assert stored.display_name in {b["display_name"] for b in applied if "display_name" in b}
    assert stored.lines in [[LINE], *(b["lines"] for b in applied if "lines" in b)]
    last_active = [b["active"] for b in applied if "active" in b]
    assert stored.is_active in last_active


# --- the command line ----------------------------------------------------------------------------


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


async def ringcard(tmp_path: Path, database_url: str, *args: str, redis_url: str | None = None) -> Ran:
    """`ringcard ...` in a process of its own, away from the checkout's .env and the shell's
    RINGCARD_*: only what the test sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")}
    env["RINGCARD_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(REPO)
    if redis_url:
        env["RINGCARD_REDIS_URL"] = redis_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


async def test_the_cli_lists_changes_and_deletes_agents(
    app_client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    empty = await ringcard(tmp_path, database_url, "list-agents")
    assert empty.returncode == 0 and one_line(empty.stdout).startswith("No agents yet")
    await make_agent(app_client, "ola")
    token = await token_of(app_client, "ola")

    listed = await ringcard(tmp_path, database_url, "list-agents")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.strip().splitlines()
    assert header.split()[:3] == ["USERNAME", "DISPLAY", "NAME"]
    assert row.split()[:5] == ["ola", "Ola", "agent", "yes", LINE]

    renamed = await ringcard(
        tmp_path, database_url, "update-agent", "ola", "--display-name", "Ola K.", "--lines", "sales"
    )
    assert renamed.returncode == 0, renamed.stderr
    assert one_line(renamed.stdout) == "Agent ola updated (display name, lines)."
    assert (await app_client.get("/api/v1/calls", headers=bearer(token))).status_code == 200

    off = await ringcard(tmp_path, database_url, "update-agent", "ola", "--deactivate")
    assert (
        off.returncode == 0
        and "deactivated" in one_line(off.stdout)
        and "tokens no longer work" in off.stdout
    )
    assert (await app_client.get("/api/v1/calls", headers=bearer(token))).status_code == 401
    stored = await stored_agent(database_url, "ola")
    assert stored is not None and (stored.display_name, stored.lines, stored.is_active) == (
        "Ola K.",
        ["sales"],
        False,
    )

    on = await ringcard(
        tmp_path, database_url, "update-agent", "ola", "--activate", "--password", "battery staple"
    )
    assert on.returncode == 0, on.stderr
    assert (await sign_in(app_client, "ola", "battery staple")).status_code == 200

    gone = await ringcard(tmp_path, database_url, "delete-agent", "ola")
    assert (
        gone.returncode == 0
        and one_line(gone.stdout)
        == "Agent ola deleted; its calls stay in the call log; open consoles close within 30 s."
    )
    assert await stored_agent(database_url, "ola") is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("update-agent", "nobody", "--display-name", "X"), "no agent named 'nobody'"),
        (("delete-agent", "nobody"), "no agent named 'nobody'"),
        # The API's rule, in its words (app/agents/password_rule.py).
        (("update-agent", "ola", "--password", "short"), "--password: at least 8 characters (at most 1024)"),
        (
            ("create-agent", "kasia", "--display-name", "K", "--password", "short"),
            "--password: at least 8 characters (at most 1024)",
        ),
        (("update-agent", "ola"), "nothing to change"),
        (("create-agent", "ola", "--display-name", "X", "--password", PASSWORD), "exists already"),
        (
            ("update-agent", "ola", "--display-name", ""),
            "--display-name: String should have at least 1 character",
        ),
    ],
)
async def test_cli_mistakes_are_one_line_and_a_failure_status(
    app_client: httpx.AsyncClient, database_url: str, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    await make_agent(app_client, "ola")
    ran = await ringcard(tmp_path, database_url, *args)
    assert ran.returncode == 1 and ran.stdout == ""
    line = one_line(ran.stderr)
    assert line.startswith("ringcard: ") and expected in line, line


async def test_cli_without_a_usable_database_says_so_in_one_line(tmp_path: Path) -> None:
    unreachable = "postgresql+asyncpg://postgres:s3cret-db-password@127.0.0.1:1/ringcard"
    for command in (("list-agents",), ("delete-agent", "ola"), ("update-agent", "ola", "--deactivate")):
        ran = await ringcard(tmp_path, unreachable, *command)
        assert ran.returncode == 1
        line = one_line(ran.stderr)
        assert line.startswith(
            "ringcard: cannot reach the database at postgresql+asyncpg://postgres:***@127.0.0.1:1/"
        )
        assert line.endswith("connection refused; is the database running?")
        assert "s3cret" not in ran.stderr + ran.stdout
    missing = await ringcard(
        tmp_path, "postgresql+asyncpg://postgres@127.0.0.1:5432/ringcard_no_such_db", "list-agents"
    )
    assert missing.returncode == 1 and 'database "ringcard_no_such_db" does not exist' in one_line(
        missing.stderr
    )
    unmigrated = await ringcard(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", "list-agents")
    assert unmigrated.returncode == 1 and "run `ringcard migrate` first" in one_line(unmigrated.stderr)
    nonsense = await ringcard(tmp_path, "not a url", "list-agents")  # a bad setting: status 2
    assert nonsense.returncode == 2 and "RINGCARD_DATABASE_URL" in one_line(nonsense.stderr)


async def test_cli_reports_an_unreachable_redis_but_keeps_the_change(
    app_client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    await make_agent(app_client, "ola")
    ran = await ringcard(
        tmp_path, database_url, "update-agent", "ola", "--deactivate", redis_url="redis://127.0.0.1:1/0"
    )
    assert ran.returncode == 0, ran.stderr
    assert "Redis unreachable" in one_line(ran.stdout) and "close within 30 s" in ran.stdout
    stored = await stored_agent(database_url, "ola")
    assert stored is not None and stored.is_active is False
