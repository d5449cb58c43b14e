"""The hub: this process's agent connections, indexed by line, and the way events reach them.

An event is applied once per process: checked for staleness by `seq`, serialised once, recorded in
the live-call state, and offered to the queue of every connection of its line (and of "*"). The
publisher delivers locally first and then hands the event to the broker, so agents on this
instance get their pop even while Redis is away; other instances apply it when it arrives.

When the broker (re)subscribes, the hub asks its peers to republish what they hold live and
republishes its own: pub/sub keeps nothing, so this is how instances that were cut off (or just
started) catch up. Stale copies are dropped by `seq`, so the exchange is idempotent. After a
resubscription every connection gets a fresh snapshot.

Agents' sockets are also indexed by agent (app/push/agent_sockets.py). When an admin revokes an
agent's tokens, `agent_changed` closes that agent's sockets here with 4401 and tells the other
instances, which do the same; a periodic recheck against the database, and one after every
resubscription, makes good a message the broker lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from starlette.websockets import WebSocket

from app.agents.changes import AgentChange
from app.kit.lines import ALL_LINES, line_key
from app.push.agent_sockets import RECHECK_EVERY_S, AgentRevoked, AgentSockets, TokenVersions
from app.push.broker import Broker
from app.push.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_REPLACED,
    QUEUE_LIMIT,
    Connection,
)
from app.push.envelopes import (
    PushEvent,
    decode_wire,
    encode_agent_change,
    encode_event,
    encode_sync_request,
    snapshot_frame,
    timestamp,
)
from app.push.event_types import EVENT_TYPES
from app.push.live_calls import LiveCalls
from app.push.metrics import (
    CONNECTIONS,
    ENVELOPES_FANNED_OUT,
    ENVELOPES_SENT,
    SOCKETS_REPLACED,
)
from app.push.snapshots import SnapshotSource

# Callers name these as the hub's (app/push/socket_routes.py, app/agents/cli.py); they live with
# the agents' sockets.
__all__ = ["RECHECK_EVERY_S", "AgentRevoked", "PushHub", "TokenVersions"]

log = logging.getLogger("ringcard.push")

# How long shutdown waits for sockets to take their close frame before cutting them.
_CLOSE_GRACE_S = 2.0
_REPLACED_REASON = "replaced by a newer connection"


class PushHub:
    def __init__(
        self,
        broker: Broker,
        *,
        region: str,
        live_calls: LiveCalls | None = None,
        snapshots: SnapshotSource | None = None,
        queue_limit: int = QUEUE_LIMIT,
        instance_id: str | None = None,
        max_sockets_per_agent: int | None = None,
        token_versions: TokenVersions | None = None,
        recheck_every_s: float = RECHECK_EVERY_S,
    ) -> None:
        self.broker = broker
        self.region = region
        self.instance_id = instance_id or uuid.uuid4().hex
        self.live_calls = live_calls or LiveCalls()
        # Snapshots come from the live-call state unless a better source (the database) is given.
        self.snapshots: SnapshotSource = snapshots or self.live_calls
        self.queue_limit = queue_limit
        self.max_sockets_per_agent = max_sockets_per_agent
        self.token_versions = token_versions
        self.recheck_every_s = recheck_every_s
        # Called with an agent's id when a peer instance reports a change to it (the call
        # directory reloads). Synchronous, from the broker's callback: they must not block.
        self.agent_listeners: list[Callable[[int], None]] = []
        self._connections: set[Connection] = set()
        self._by_line: dict[str, set[Connection]] = {}
        self._agents = AgentSockets()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def online_agent_ids(self) -> set[int]:
        """Agents with a socket open on this process (other instances keep their own)."""
        return {conn.agent_id for conn in self._connections if conn.close_code is None}

    async def start(self) -> None:
        await self.broker.start(self)
        if self.token_versions is not None:
            self._spawn(self._recheck_periodically())

    async def stop(self) -> None:
        """Stop listening, then close every socket with 1001 "going away"."""
        self._stopping = True
        try:
            await self.broker.stop()
        except Exception:  # shutdown goes on: the sockets still deserve their close frame
            log.exception("stopping the broker failed")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        connections = list(self._connections)
        for conn in connections:
            conn.close(CLOSE_GOING_AWAY, "server going away")
        await asyncio.gather(*(conn.wait_closed(_CLOSE_GRACE_S) for conn in connections))

    # --- publishing ------------------------------------------------------------------------------

    async def publish_call_event(
        self,
        event_type: str,
        call: Mapping[str, Any],
        card: dict[str, Any] | bytes | None,
        line: str,
        *,
        seq: int | None = None,
        at: datetime | None = None,
    ) -> int | None:
        """Push a call event to the agents of `line` on every instance.

        `call` must carry the call's `id`. `card` may be pre-serialised JSON bytes (spliced in
        as they are) or a dict (serialised here, once). `seq` should be the call record's own
        counter: it orders events across instances and restarts. Without it, the next number
        after the newest this process has seen for the call is used, which is right as long as
        one process publishes a given call's events.

        Returns the `seq` used, or None when the event was older than one already delivered (it
        is then dropped: agents would ignore it anyway).
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}; one of {sorted(EVENT_TYPES)}")
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("the call needs its id (call['id'])")
        card_bytes = orjson.dumps(card) if isinstance(card, dict) else card
        if seq is None:
            seq = self.live_calls.next_seq(call_id)
        event = PushEvent(
            event_type, call_id, seq, timestamp(at), line_key(line, self.region), call, card_bytes
        )
        if not self._apply(event):
            return None
        await self.broker.publish(encode_event(event, self.instance_id))
        return seq

    def _apply(self, event: PushEvent) -> bool:
        if not self.live_calls.is_new(event):
            return False
        envelope = event.envelope()
        self.live_calls.record(event, envelope)
        # Decoded once: ASGI carries text frames as str, and every socket gets this same object.
        frame = envelope.decode()
        queued = 0
        for conn in self._by_line.get(event.line, ()):
            queued += conn.offer(frame)
        if event.line != ALL_LINES:
            for conn in self._by_line.get(ALL_LINES, ()):
                queued += conn.offer(frame)
        # Counted here, once per event, rather than per frame in a hundred writers.
        ENVELOPES_FANNED_OUT.inc()
        ENVELOPES_SENT.inc(queued)
        return True

    # --- the broker's callbacks (never await a socket) ---------------------------------------------

    def on_broker_message(self, data: bytes) -> None:
        try:
            message = decode_wire(data)
        except ValueError as exc:
            log.warning("ignoring a malformed push message: %s", exc)
            return
        if message.origin == self.instance_id:
            return
        if message.agent is not None:
            self._agents.apply(message.agent)
            for listener in list(self.agent_listeners):
                try:
                    listener(message.agent.agent_id)
                except Exception:  # one listener's bug must not keep the others from hearing
                    log.exception("agent change listener failed")
        elif message.event is None:
            self._spawn(self._announce())
        else:
            self._apply(message.event)

    def on_broker_subscribed(self, *, resubscribed: bool) -> None:
        self._spawn(self._after_subscribe(resubscribed))

    async def _after_subscribe(self, resubscribed: bool) -> None:
        if resubscribed:
            # Revocations published while this instance was cut off never arrive: ask the database.
            await self.recheck_agents()
            await self._resnapshot(list(self._connections))
        await self.broker.publish(encode_sync_request(self.instance_id))
        await self._announce()

    async def _announce(self) -> None:
        for event in self.live_calls.announcements():
            await self.broker.publish(encode_event(event, self.instance_id))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._stopping:
            work.close()
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("push hub task failed", exc_info=task.exception())

    # --- connections -------------------------------------------------------------------------------

    async def connect(
        self, websocket: WebSocket, agent_id: int, lines: frozenset[str], *, token_version: int = 0
    ) -> Connection | None:
        """Register an authenticated socket and queue its snapshot; None when shutting down.

        Raises AgentRevoked when the token's version was revoked after the caller read it. When
        the agent already has its limit of sockets here, the oldest is closed with 4409."""
        if self._stopping:
            return None
        if self.is_revoked(agent_id, token_version):
            raise AgentRevoked
        conn = Connection(websocket, agent_id, lines, limit=self.queue_limit)
        self._connections.add(conn)
        for line in self._index_lines(lines):
            self._by_line.setdefault(line, set()).add(conn)
        self._agents.add(conn, token_version)
        CONNECTIONS.inc()
        self._make_room(agent_id)
        conn.start()
        await self._resnapshot([conn])
        return conn

    def _make_room(self, agent_id: int) -> None:
        # The newest socket wins: it is the tab or console the agent just opened and is looking
        # at; the oldest is most likely a forgotten tab or a laptop left at home.
        if self.max_sockets_per_agent is None:
            return
        open_ones = self._agents.open_sockets(agent_id)
        for conn in open_ones[: max(0, len(open_ones) - self.max_sockets_per_agent)]:
            log.info(
                "agent %s has %d sockets here (limit %d); closing its oldest",
                agent_id,
                len(open_ones),
                self.max_sockets_per_agent,
            )
            SOCKETS_REPLACED.inc()
            conn.close(CLOSE_REPLACED, _REPLACED_REASON)

    async def disconnect(self, conn: Connection) -> None:
        """Forget a socket whose peer is gone (or that we closed) and let its writer finish."""
        if conn not in self._connections:
            return
        self._connections.discard(conn)
        self._agents.remove(conn)
        for line in self._index_lines(conn.lines):
            peers = self._by_line.get(line)
            if peers is not None:
                peers.discard(conn)
                if not peers:
                    del self._by_line[line]
        CONNECTIONS.dec()
        if conn.close_code is None:
            conn.abandon()
        await conn.wait_closed(_CLOSE_GRACE_S)

    async def _resnapshot(self, connections: Iterable[Connection]) -> None:
        """Send each connection a snapshot of its lines; one query per distinct set of lines."""
        groups: dict[frozenset[str], list[Connection]] = {}
        for conn in connections:
            groups.setdefault(conn.lines, []).append(conn)
        for lines, members in groups.items():
            # Hold first: envelopes that arrive while the source works queue behind the snapshot.
            for conn in members:
                conn.hold()
            try:
                items = await self.snapshots.live_calls(lines)
            except Exception:
                log.exception("snapshot failed; closing %d socket(s) so they retry", len(members))
                for conn in members:
                    conn.release(None)
                    conn.close(CLOSE_INTERNAL_ERROR, "snapshot unavailable, reconnect")
                continue
            frame = snapshot_frame(list(items))
            for conn in members:
                conn.release(frame)

    @staticmethod
    def _index_lines(lines: frozenset[str]) -> frozenset[str]:
        # An agent of every line is indexed once, under "*", so it never gets an envelope twice.
        return frozenset({ALL_LINES}) if ALL_LINES in lines else lines

    # --- revoking agents' tokens ---------------------------------------------------------------------

    def is_revoked(self, agent_id: int, token_version: int) -> bool:
        return self._agents.is_revoked(agent_id, token_version)

    def revoke_agent(self, agent_id: int, *, below_version: int | None = None) -> int:
        """Close this process's sockets of the agent signed in under a version below
        `below_version` (every one when None) with 4401, and refuse such tokens from now on.
        Synchronous and never awaits a socket. Returns how many sockets were closed."""
        return self._agents.revoke(agent_id, below_version=below_version)

    async def agent_changed(self, change: AgentChange) -> int:
        """An admin changed an agent through this process, and the change is committed: apply it
        to the sockets here, then tell the other instances. Returns the sockets closed here."""
        closed = self._agents.apply(change)
        await self.broker.publish(encode_agent_change(change, self.instance_id))
        return closed

    async def recheck_agents(self) -> int:
        """Close the sockets whose agent the database no longer lets in (deleted, deactivated, or
        a newer token version). Returns how many were closed."""
        if self.token_versions is None:
            return 0
        return await self._agents.recheck(self.token_versions)

    async def _recheck_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_every_s)
            await self.recheck_agents()
