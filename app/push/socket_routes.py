"""`WS /ws`: the push channel agents' consoles keep open (protocol in docs/push.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, WebSocket
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Message

from app.agents.models import Agent
from app.agents.tokens import read_token
from app.deps import Hub, Sessions, Stores, TokenKey
from app.kit.lines import line_key, stores_of_lines
from app.push.connection import CLOSE_GOING_AWAY, CLOSE_UNAUTHENTICATED
from app.push.envelopes import PONG
from app.push.hub import AgentRevoked
from app.stores.directory import StoreDirectory

router = APIRouter()

# A client that connects and says nothing holds a socket for free; a few seconds is plenty for a
# console that sends its token as soon as the socket opens.
AUTH_TIMEOUT_S = 5.0
# A client sends its token and pings, nothing else: a few hundred bytes. The server is run with
# this as its websocket message limit (uvicorn then refuses a larger frame with 1009 before it
# buffers it), so an unauthenticated client cannot make us hold megabytes.
CLIENT_MESSAGE_MAX_BYTES = 4096


class _ClientLeft(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Agent:
    id: int
    lines: frozenset[str]
    token_version: int


@router.websocket("/ws")
async def push_channel(
    websocket: WebSocket, hub: Hub, sessions: Sessions, token_key: TokenKey, stores: Stores
) -> None:
    await websocket.accept()
    try:
        agent = await _authenticate(websocket, hub.region, sessions, token_key, stores)
    except _ClientLeft:
        return
    if agent is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "authentication required")
        return
    try:
        conn = await hub.connect(websocket, agent.id, agent.lines, token_version=agent.token_version)
    except AgentRevoked:
        await websocket.close(CLOSE_UNAUTHENTICATED, "authentication required")
        return
    if conn is None:
        await websocket.close(CLOSE_GOING_AWAY, "server going away")
        return
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if _message_type(message) == "ping":
                conn.offer(PONG)
            # Anything else is ignored: the channel carries nothing else from the client.
    finally:
        await hub.disconnect(conn)


async def _authenticate(
    websocket: WebSocket,
    region: str,
    sessions: async_sessionmaker[AsyncSession],
    token_key: str,
    stores: StoreDirectory,
) -> _Agent | None:
    """The agent named by the first message's token, or None to refuse the socket."""
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            message = await websocket.receive()
    except TimeoutError:
        return None
    if message["type"] == "websocket.disconnect":
        raise _ClientLeft
    body = _parse(message)
    token = body.get("token") if body is not None and body.get("type") == "auth" else None
    if not isinstance(token, str):
        return None
    claims = read_token(token_key, token)
    if claims is None:
        return None
    lines = await _agent_lines(sessions, claims.agent_id, claims.version)
    if lines is None:
        return None
    keys = {line_key(line, region) for line in lines}
    # A store's lines as they are now: a line the store gains later reaches this agent when
    # their console connects again.
    for store_id in stores_of_lines(lines):
        store = stores.known(store_id)
        if store is not None:
            keys.update(store.view.lines)
    return _Agent(claims.agent_id, frozenset(keys), claims.version)


async def _agent_lines(
    sessionmaker: async_sessionmaker[AsyncSession], agent_id: int, token_version: int
) -> list[str] | None:
    """Read once at sign-in, in a session of its own: no session lives as long as the socket.
    Line changes reach an agent on its next connection. The same read tells whether the token
    is still good (the agent active, the token's version its current one): no extra round trip.
    None when the socket must be refused."""
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(Agent.lines, Agent.is_active, Agent.token_version).where(Agent.id == agent_id)
            )
        ).one_or_none()
    if row is None or not row.is_active or row.token_version != token_version:
        return None
    return list(row.lines or [])


def _parse(message: Message) -> dict[str, object] | None:
    raw = message.get("text") or message.get("bytes")
    if not raw:
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _message_type(message: Message) -> object:
    body = _parse(message)
    return None if body is None else body.get("type")
