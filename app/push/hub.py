"""The hub: this process's agent connections, indexed by line, and the way events reach them.

An event is applied once per process: checked for staleness by `seq`, serialised once, recorded in
the live-call state, and offered to the queue of every connection of its line (and of "*"). The
publisher delivers locally first and then hands the event to the broker, so agents on this
instance get their pop even while Redis is away; other instances apply it when it arrives.

When the broker (re)subscribes, the hub asks its peers to republish what they hold live and
republishes its own: pub/sub keeps nothing, so this is how instances that were cut off (or just
started) catch up. Stale copies are dropped by `seq`, so the exchange is idempotent. After a
resubscription every connection gets a fresh snapshot.

Agents' sockets are also indexed by agent, with the token version each signed in under. When an
admin revokes an agent's tokens (deactivation, deletion, a new password), `agent_changed` closes
that agent's sockets here with 4401 and tells the other instances, which do the same. A message
the broker lost (an instance cut off from Redis just then) is made good by a periodic recheck of
the open sockets' agents against the database, and by one after every resubscription.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import orjson
from starlette.websockets import WebSocket

from app.kit.lines import ALL_LINES, line_key
from app.push.broker import Broker
from app.push.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_REPLACED,
    CLOSE_UNAUTHENTICATED,
    QUEUE_LIMIT,
    Connection,
)
from app.push.envelopes import (
    EVENT_TYPES,
    AgentChange,
    PushEvent,
    decode_wire,
    encode_agent_change,
    encode_event,
    encode_sync_request,
    snapshot_frame,
    timestamp,
)
from app.push.live_calls import LiveCalls
from app.push.metrics import (
    CONNECTIONS,
    ENVELOPES_FANNED_OUT,
    ENVELOPES_SENT,
    SOCKETS_REPLACED,
    SOCKETS_REVOKED,
)
from app.push.snapshots import SnapshotSource

log = logging.getLogger("ringcard.push")

# How long shutdown waits for sockets to take their close frame before cutting them.
_CLOSE_GRACE_S = 2.0
# How often the open sockets' agents are checked against the database: the bound on how long a
# revoked agent keeps a socket when the broker lost the revocation (or the change came from the
# CLI without Redis to tell the instances). One indexed query per instance per period.
RECHECK_EVERY_S = 30.0

_REVOKED_REASON = "signed out: sign in again"
_REPLACED_REASON = "replaced by a newer connection"


class TokenVersions(Protocol):
    """Where the hub learns which agents may keep their sockets (app.agents.access.AgentAccess)."""

    async def token_versions(self, agent_ids: Collection[int]) -> Mapping[int, int]:
        """The current token version of each of these agents that is still active."""
        ...


class AgentRevoked(Exception):
    """The token a socket signed in with was revoked while it did."""


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
        # Each agent's sockets, oldest first, with the token version each signed in under.
        self._by_agent: dict[int, dict[Connection, int]] = {}
        # Tokens revoked so far: an agent's tokens below this version (None: all of them). Kept
        # for the life of the process (a few ints per agent ever revoked) so that a socket whose
        # sign-in read the agent just before the revocation cannot register just after it.
        self._revoked: dict[int, int | None] = {}
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
        call: dict[str, Any],
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
            self._apply_agent_change(message.agent)
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
        self._by_agent.setdefault(agent_id, {})[conn] = token_version
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
        open_ones = [conn for conn in self._by_agent.get(agent_id, ()) if conn.close_code is None]
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
        mine = self._by_agent.get(conn.agent_id)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self._by_agent[conn.agent_id]
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
        if agent_id not in self._revoked:
            return False
        floor = self._revoked[agent_id]
        return floor is None or token_version < floor

    def revoke_agent(self, agent_id: int, *, below_version: int | None = None) -> int:
        """Close this process's sockets of the agent signed in under a version below
        `below_version` (every one when None) with 4401, and refuse such tokens from now on.
        Synchronous and never awaits a socket. Returns how many sockets were closed."""
        known = self._revoked.get(agent_id, 0)
        self._revoked[agent_id] = (
            None if below_version is None or known is None else max(known, below_version)
        )
        closed = 0
        for conn, token_version in list(self._by_agent.get(agent_id, {}).items()):
            if conn.close_code is None and self.is_revoked(agent_id, token_version):
                conn.close(CLOSE_UNAUTHENTICATED, _REVOKED_REASON)
                closed += 1
        SOCKETS_REVOKED.inc(closed)
        return closed

    async def agent_changed(self, change: AgentChange) -> int:
        """An admin changed an agent through this process, and the change is committed: apply it
        to the sockets here, then tell the other instances. Returns the sockets closed here."""
        closed = self._apply_agent_change(change)
        await self.broker.publish(encode_agent_change(change, self.instance_id))
        return closed

    def _apply_agent_change(self, change: AgentChange) -> int:
        if change.revoke_all:
            return self.revoke_agent(change.agent_id)
        if change.revoke_below is not None:
            return self.revoke_agent(change.agent_id, below_version=change.revoke_below)
        return 0

    async def recheck_agents(self) -> int:
        """Close the sockets whose agent the database no longer lets in (deleted, deactivated, or
        a newer token version). Returns how many were closed."""
        if self.token_versions is None or not self._by_agent:
            return 0
        # Only sockets registered before the query: a socket that signs in while it runs was
        # checked by a read newer than this one and must not be judged by this one's answer.
        seen = [(conn, version) for mine in self._by_agent.values() for conn, version in mine.items()]
        try:
            current = await self.token_versions.token_versions({conn.agent_id for conn, _ in seen})
        except Exception as exc:  # the database is away: the next round (or the broker) will do
            log.warning("could not recheck agents' sockets: %s", type(exc).__name__)
            return 0
        closed = 0
        for conn, version in seen:
            if conn.close_code is None and current.get(conn.agent_id) != version:
                conn.close(CLOSE_UNAUTHENTICATED, _REVOKED_REASON)
                closed += 1
        SOCKETS_REVOKED.inc(closed)
        return closed

    async def _recheck_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_every_s)
            await self.recheck_agents()
