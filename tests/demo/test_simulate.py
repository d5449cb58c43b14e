"""Anyone can see a pop without a phone line: `ringcard simulate-call` and the demo button send
properly signed Twilio webhooks to the running service."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.demo.data import HERO_PHONE
from app.demo.routes import own_base_url
from app.main import create_app
from tests.conftest import SYNC, make_settings
from tests.fixtures.push_harness import LEGACY_WEBSOCKETS_WARNINGS, Served, agent_socket, create_agent, serve
from tests.fixtures.store_records import customer

TOKEN = "twilio-token-for-the-simulator"
pytestmark = LEGACY_WEBSOCKETS_WARNINGS


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    app = create_app(make_settings(database_url, twilio_auth_token=TOKEN, demo=True))
    async with serve(app) as running:
        yield running


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.http_url) as client:
        yield client


async def test_the_simulate_call_command_pops_a_card(
    served: Served, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    anna = customer(phones=[{"number": "601234567", "kind": "mobile"}])
    assert (await http.put("/api/v1/customers/c-1", json=anna, headers=SYNC)).status_code == 200
    token = await create_agent(http, "ola", ["*"])
    async with agent_socket(served.ws_url, token) as agent:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "app.cli", "simulate-call", "--from", "+48601234567"),
            *("--url", served.http_url),
            # Away from the checkout's .env (which `serve --demo` writes, with the demo's URL and
            # secrets) and from any RINGCARD_* of the developer's shell: only what the test sets.
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")},
                "RINGCARD_TWILIO_AUTH_TOKEN": TOKEN,
            },
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        assert process.returncode == 0, out
        assert b"answered 200" in out
        pop = await agent.until(lambda m: m.get("type") == "call.ringing")
        assert pop["card"]["customer"]["name"] == "Anna Nowak"


async def test_the_demo_button_rings_answers_and_hangs_up(served: Served, http: httpx.AsyncClient) -> None:
    token = await create_agent(http, "ola", ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    config = await http.get("/api/v1/demo/config")
    assert config.json()["demo"] is True and "Withheld number" in config.json()["callers"]
    async with agent_socket(served.ws_url, token) as agent:
        body = {"from": "anonymous", "answer_after_s": 0.1, "hang_up_after_s": 0.2}
        answer = await http.post("/api/v1/demo/simulate-call", json=body, headers=auth)
        assert answer.status_code == 202
        ringing = await agent.until(lambda m: m.get("type") == "call.ringing")
        assert ringing["card"]["match"]["status"] == "withheld"
        ended = await agent.until(lambda m: m.get("type") == "call.ended")
        assert ended["call"]["state"] == "completed"
    assert (await http.post("/api/v1/demo/simulate-call", json=body)).status_code == 401


async def test_a_demo_call_answered_and_ended_comes_with_its_transcript_for_the_ai_summary(
    served: Served, http: httpx.AsyncClient
) -> None:
    token = await create_agent(http, "ola", ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    body = {"from": HERO_PHONE, "answer_after_s": 0.1, "hang_up_after_s": 0.2}
    async with agent_socket(served.ws_url, token) as agent:
        assert (await http.post("/api/v1/demo/simulate-call", json=body, headers=auth)).status_code == 202
        ended = await agent.until(lambda m: m.get("type") == "call.ended")
    for _ in range(100):
        detail = (await http.get(f"/api/v1/calls/{ended['call_id']}", headers=auth)).json()
        if detail["transcript"]:
            break
        await asyncio.sleep(0.05)
    transcript = detail["transcript"]
    assert transcript["source"] == "twilio-recording" and "order 1042" in transcript["text"]
    assert "4111" not in transcript["text"] and "[redacted]" in transcript["text"]


async def test_demo_endpoints_are_off_outside_demo_mode(database_url: str) -> None:
    app = create_app(make_settings(database_url, twilio_auth_token=TOKEN))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with app.router.lifespan_context(app), client:
        assert (await client.get("/api/v1/demo/config")).status_code == 404


async def test_the_demo_button_posts_to_this_server_whatever_the_host_header_says(
    served: Served, http: httpx.AsyncClient
) -> None:
    # A listener of our own on another port: the old code followed the Host header to it.
    knocks: list[bytes] = []

    async def knocked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        knocks.append(await reader.read(200))
        writer.close()

    listener = await asyncio.start_server(knocked, "127.0.0.1", 0)
    elsewhere = listener.sockets[0].getsockname()[1]
    token = await create_agent(http, "ola", ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with listener:
            for host in (f"127.0.0.1:{elsewhere}", "evil.example"):
                answer = await http.post(
                    "/api/v1/demo/simulate-call",
                    json={"from": "+48601234567"},
                    headers={**auth, "Host": host},
                )
                assert answer.status_code == 202, answer.text
                assert answer.json()["webhook_status"] == 200
            await asyncio.sleep(0.1)
    finally:
        listener.close()
    assert knocks == []
    await served.on_server(served.app.state.intake.drain())
    calls = (await http.get("/api/v1/calls", headers=auth)).json()
    assert len(calls) == 2 and {call["provider"] for call in calls} == {"twilio"}


def test_the_demo_posts_to_its_own_socket_else_to_configured_addresses() -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", host="127.0.0.2", port=8123)
    assert own_base_url({"server": ("127.0.0.1", 9001)}, settings) == "http://127.0.0.1:9001"
    assert own_base_url({"server": ("::1", 9001)}, settings) == "http://[::1]:9001"
    # A Unix socket: no address of its own.
    assert own_base_url({"server": None}, settings) == "http://127.0.0.2:8123"
    public = settings.model_copy(update={"public_url": "https://ringcard.example"})
    assert own_base_url({}, public) == "https://ringcard.example"
