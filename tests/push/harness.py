"""A real uvicorn on a real socket for the push tests, and an agent's end of `WS /ws`."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.agents.models import Agent
from app.agents.tokens import AgentClaims, issue_token
from app.db import utcnow
from app.push.hub import PushHub
from app.push.ws import CLIENT_MESSAGE_MAX_BYTES
from tests.conftest import ADMIN

# uvicorn 0.32 serves websockets through the `websockets.legacy` API, which warns on import since
# websockets 14; import it once with that warning silenced so the suite's "warnings are errors"
# rule keeps guarding our own code.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import uvicorn.protocols.websockets.websockets_impl

# ...and warns again for every connection it serves (about its handler's signature): uvicorn's
# business, not ours. Test modules that run uvicorn put this mark on themselves.
LEGACY_WEBSOCKETS_WARNINGS = pytest.mark.filterwarnings(
    "ignore:remove second argument of ws_handler:DeprecationWarning"
)

T = TypeVar("T")
STEP_TIMEOUT_S = 5.0


def _announce_startup(app: ASGIApp, done: threading.Event, failed: list[str]) -> ASGIApp:
    """Wrap `app` so the test thread learns when the lifespan startup has finished."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                failed.append(str(message.get("message")))
            if message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
                done.set()
            await send(message)

        await app(scope, receive, watch)

    return wrapped


@dataclass
class Served:
    app: FastAPI
    server: uvicorn.Server
    loop: asyncio.AbstractEventLoop
    port: int
    thread: threading.Thread

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def hub(self) -> PushHub:
        hub: PushHub = self.app.state.push
        return hub

    async def on_server(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the server's event loop (the hub lives there) and wait for its result."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    async def publish(
        self,
        event_type: str,
        call_id: str,
        line: str,
        card: dict[str, Any] | bytes | None = None,
        **kwargs: Any,
    ) -> int | None:
        call = {"id": call_id, "to": line, "state": event_type.removeprefix("call.")}
        return await self.on_server(self.hub.publish_call_event(event_type, call, card, line, **kwargs))

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 15)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@asynccontextmanager
async def serve(app: FastAPI, *, log_config: dict[str, Any] | None = None) -> AsyncIterator[Served]:
    """uvicorn in a thread of its own (its own event loop) on a pre-bound port.

    `log_config` (app.logging_setup.logging_config) logs like `ringcard serve`; it configures the
    whole test process's logging, so only tests that read the log opt in."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    started, failed = threading.Event(), []
    log_options: dict[str, Any] = (
        {"log_level": "warning"} if log_config is None else {"log_config": log_config}
    )
    config = uvicorn.Config(
        _announce_startup(app, started, failed),
        lifespan="on",
        ws="websockets",
        ws_max_size=CLIENT_MESSAGE_MAX_BYTES,
        **log_options,
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()

    def run() -> None:
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    served = Served(app, server, loop, sock.getsockname()[1], thread)
    try:
        assert await asyncio.to_thread(started.wait, 30), "the app did not start"
        assert not failed, f"the app failed to start: {failed}"
        yield served
    finally:
        if thread.is_alive():
            await served.stop()
        sock.close()


async def create_agent(http: httpx.AsyncClient, username: str, lines: list[str]) -> str:
    """An agent of `lines`, signed in: its access token."""
    created = await http.post(
        "/api/v1/agents",
        json={
            "username": username,
            "display_name": username.title(),
            "password": "correct horse",
            "lines": lines,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    signed_in = await http.post("/auth/token", json={"username": username, "password": "correct horse"})
    assert signed_in.status_code == 200, signed_in.text
    token: str = signed_in.json()["access_token"]
    return token


async def add_agent(served: Served, username: str, lines: list[str]) -> str:
    """A quicker `create_agent`: the row goes straight into the database with `lines` exactly as
    written (the hub must normalise them itself) and the token is issued with the app's key."""

    async def insert() -> int:
        sessionmaker: async_sessionmaker[AsyncSession] = served.app.state.sessionmaker
        async with sessionmaker() as session, session.begin():
            agent = Agent(
                username=username, display_name=username, password_hash="!", lines=lines, created_at=utcnow()
            )
            session.add(agent)
            await session.flush()
            return agent.id

    agent_id = await served.on_server(insert())  # the engine belongs to the server's event loop
    return issue_token(served.app.state.token_key, AgentClaims(agent_id, username, username), ttl_s=3600)


@dataclass
class AgentSocket:
    """An agent's console: the socket and everything it has received."""

    ws: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, within_s: float = STEP_TIMEOUT_S) -> dict[str, Any]:
        async with asyncio.timeout(within_s):
            raw = await self.ws.recv()
        message: dict[str, Any] = orjson.loads(raw)
        self.received.append(message)
        return message

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], within_s: float = STEP_TIMEOUT_S
    ) -> dict[str, Any]:
        """Read until a message satisfies `predicate`; everything read stays in `received`."""
        deadline = time.monotonic() + within_s
        while True:
            message = await self.next(max(deadline - time.monotonic(), 0.001))
            if predicate(message):
                return message

    async def closed_with(self, within_s: float = STEP_TIMEOUT_S) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        try:
            async with asyncio.timeout(within_s):
                while True:
                    self.received.append(orjson.loads(await self.ws.recv()))
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code
        raise AssertionError("unreachable")

    async def send(self, body: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(body).decode())


@asynccontextmanager
async def agent_socket(
    url: str, token: str | None, *, snapshot: bool = True, **connect_kwargs: Any
) -> AsyncIterator[AgentSocket]:
    """Connect, send the auth message (when `token` is given) and, by default, read the snapshot."""
    async with connect(url, open_timeout=STEP_TIMEOUT_S, close_timeout=2, **connect_kwargs) as ws:
        agent = AgentSocket(ws)
        if token is not None:
            await agent.send({"type": "auth", "token": token})
            if snapshot:
                first = await agent.next()
                assert first["type"] == "snapshot", first
        yield agent


def event_of(call_id: str, event_type: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def matches(message: dict[str, Any]) -> bool:
        return message.get("call_id") == call_id and (event_type is None or message["type"] == event_type)

    return matches


def is_snapshot(message: dict[str, Any]) -> bool:
    return message["type"] == "snapshot"
