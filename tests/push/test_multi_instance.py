"""Several instances on one Redis: a pop published on one reaches agents on another, and keeps
doing so after Redis restarts."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.agents.models import Agent
from app.agents.tokens import AgentClaims, issue_token
from app.db import create_engine, make_sessionmaker, utcnow
from app.push.broker import BrokerListener
from app.push.redis_broker import RedisBroker
from tests.conftest import ADMIN_KEY, MigratedDatabases, empty_database
from tests.fixtures.push_harness import agent_socket, event_of, is_snapshot
from tests.fixtures.services import REDIS_URL, require

pytestmark = pytest.mark.redis

REPO = Path(__file__).resolve().parents[2]
SECRET = "multi-instance-test-signing-key-0123456789"
LINE = "+48221234567"
CARD: dict[str, Any] = {"match": {"status": "exact"}, "customer": {"name": "Anna Nowak"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of this test's own, so killing it disturbs nobody else."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: the multi-instance tests need it", pytrace=False)
        self.binary = binary
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(10):
            while b"Ready to accept connections" not in (line := await self.process.stdout.readline()):
                if not line:
                    pytest.fail(f"redis-server on port {self.port} exited before it was ready", pytrace=False)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


class Instance:
    """`tests/push/serve_instance.py` in a subprocess, listening on a socket bound here."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.push.serve_instance", "--fd", str(self.sock.fileno())],
                pass_fds=(self.sock.fileno(),),
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        self.sock.close()


async def insert_agent(database_url: str, username: str, lines: list[str]) -> str:
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            agent = Agent(
                username=username, display_name=username, password_hash="!", lines=lines, created_at=utcnow()
            )
            session.add(agent)
            await session.flush()
            agent_id = agent.id
    finally:
        await engine.dispose()
    return issue_token(SECRET, AgentClaims(agent_id, username, username), ttl_s=3600)


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


def call_ids(message: dict[str, Any]) -> set[str]:
    if message["type"] == "snapshot":
        return {call["call_id"] for call in message["calls"]}
    return {message["call_id"]}


async def test_pops_cross_instances_and_flow_again_within_seconds_of_a_redis_restart(
    migrated: MigratedDatabases, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    database_url = migrated.url("sqlite")
    await empty_database(database_url)
    token = await insert_agent(database_url, "ola", [LINE])
    env = {
        **os.environ,
        "RINGCARD_DATABASE_URL": database_url,
        "RINGCARD_REDIS_URL": redis_server.url,
        "RINGCARD_SECRET_KEY": SECRET,
        "RINGCARD_ADMIN_API_KEY": ADMIN_KEY,
        "RINGCARD_DEFAULT_REGION": "PL",
    }
    a, b = Instance("a", env, tmp_path), Instance("b", env, tmp_path)

    async def publish(http: httpx.AsyncClient, call_id: str) -> None:
        body = {"type": "call.ringing", "call": {"id": call_id, "to": LINE}, "card": CARD, "line": LINE}
        answer = await http.post(f"{a.http_url}/test/publish", json=body)
        assert answer.status_code == 200, answer.text

    try:
        async with (
            httpx.AsyncClient(timeout=10) as http,
            agent_socket(a.ws_url, token) as on_a,
            agent_socket(b.ws_url, token) as on_b,
        ):
            await publish(http, "before")
            assert (await on_b.until(event_of("before")))["card"] == CARD
            await on_a.until(event_of("before"))

            await redis_server.kill()
            assert (await http.get(f"{b.http_url}/readyz")).status_code == 503
            # Delivered locally first: the agents of the publishing instance do not need Redis.
            await publish(http, "during")
            await on_a.until(event_of("during"))
            # Not synchronisation: an outage long enough for the reconnection backoff to reach its cap.
            await asyncio.sleep(1.5)

            await redis_server.start()
            restarted = time.monotonic()
            b_snapshot = await on_b.until(is_snapshot)
            a_snapshot = await on_a.until(is_snapshot)
            await publish(http, "after")
            await on_b.until(event_of("after"))
            flowing_again_after = time.monotonic() - restarted
            # What B missed while Redis was away reaches it too, in its snapshot or as an envelope.
            if not any("during" in call_ids(message) for message in on_b.received):
                await on_b.until(event_of("during"))
            assert (await http.get(f"{b.http_url}/readyz")).status_code == 200
    finally:
        await asyncio.gather(a.stop(), b.stop())

    assert flowing_again_after < 5.0, f"pops flowed again only {flowing_again_after:.1f} s after Redis"
    assert "before" in call_ids(b_snapshot)
    assert {"before", "during"} <= call_ids(a_snapshot)


class Collected:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()
        self.subscriptions: list[bool] = []

    def on_broker_message(self, data: bytes) -> None:
        self.messages.put_nowait(data)

    def on_broker_subscribed(self, *, resubscribed: bool) -> None:
        self.subscriptions.append(resubscribed)


async def test_the_redis_broker_carries_bytes_between_brokers_of_one_channel_only() -> None:
    parts = urlsplit(REDIS_URL)
    require("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    channel = f"ringcard:test:{uuid.uuid4().hex}"
    listeners: list[BrokerListener] = [Collected(), Collected(), Collected()]
    brokers = [
        RedisBroker(REDIS_URL, channel=channel),
        RedisBroker(REDIS_URL, channel=channel),
        RedisBroker(REDIS_URL, channel=f"{channel}:elsewhere"),
    ]
    for broker, listener in zip(brokers, listeners, strict=True):
        await broker.start(listener)
    try:
        assert all([await broker.healthy() for broker in brokers])
        await brokers[0].publish(b"first\n")
        await brokers[0].publish(b"second\n")
        sender, receiver, stranger = (listener for listener in listeners if isinstance(listener, Collected))
        async with asyncio.timeout(5):
            assert [await receiver.messages.get(), await receiver.messages.get()] == [b"first\n", b"second\n"]
            # The publisher hears itself (the hub drops its own by origin); the other channel does not.
            assert await sender.messages.get() == b"first\n"
        assert stranger.messages.empty()
        assert receiver.subscriptions == [False]
    finally:
        for broker in brokers:
            await broker.stop()
    assert not await brokers[0].healthy()
