"""Who is online: which agents have a push socket open on any running instance.

Each instance's hub knows only its own sockets (`PushHub.online_agent_ids`). Behind a load
balancer the team page may be served by an instance that holds none of them, so the instances
share what they hold through the database: one row per instance in `socket_presence` (its id,
the agents with a socket open there, and when it last said so). An instance rewrites its row
within a second of a change (it compares its set every `POLL_S`, an in-memory walk over its
sockets) and at least every `HEARTBEAT_S` while nothing changes; a clean shutdown deletes it.
A row not rewritten for `EXPIRES_AFTER_S` is an instance that died (killed, its host gone, cut
off from the database) and counts for nobody. The reader takes this instance's own sockets live
from its hub and every other instance's from their rows.

Why a table and not the alternatives:

* Asking the instances through the broker at read time needs Redis (a single instance runs
  without it), and cannot know how many instances should answer: the read would wait a fixed
  time on every page load and still miss an instance that is slow that moment.
* Keys with a TTL in Redis would work, but again only where Redis is configured; the database is
  there for every deployment, and this is one small upsert per instance every few seconds.
* A row per socket would make every connect and disconnect a write on the sockets' path; a row
  per instance, rewritten by a background loop, keeps the push path free of any I/O.

Times are the writing instance's clock, compared with the reading instance's: instances are
expected to keep NTP time, and an expiry of 30 s tolerates clocks far apart beyond that. Rows of
dead instances are deleted by the live ones once they are `FORGET_AFTER_S` old (instance ids are
new on every start, so such rows would otherwise pile up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Set
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.models import SocketPresence
from app.db import table_of, upsert_insert, utcnow

log = logging.getLogger("ringcard.agents")

POLL_S: Final = 1.0
HEARTBEAT_S: Final = 10.0
EXPIRES_AFTER_S: Final = 30.0
FORGET_AFTER_S: Final = 600.0


class PresenceWriter:
    """Keeps this instance's row in `socket_presence` true (started and stopped by the lifespan)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        instance_id: str,
        online_ids: Callable[[], Set[int]],
        *,
        poll_s: float = POLL_S,
        heartbeat_s: float = HEARTBEAT_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.instance_id = instance_id
        self._online_ids = online_ids
        self._poll_s = poll_s
        self._heartbeat = timedelta(seconds=heartbeat_s)
        self._clock = clock
        self._written: frozenset[int] | None = None
        self._written_at: datetime | None = None
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A first write before serving, so the row is there from the first socket on; a database
        # that is away now is retried by the loop like any later failure.
        await self.tick()
        self._task = asyncio.create_task(self._run(), name="socket-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # Gone at once rather than after the expiry: the sockets here are closing now.
        try:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    delete(SocketPresence).where(SocketPresence.instance_id == self.instance_id)
                )
        except Exception as exc:  # shutdown goes on; the row expires by itself
            log.warning("could not remove this instance's socket presence: %s", type(exc).__name__)

    async def tick(self) -> bool:
        """Write the row if the set changed or the heartbeat is due; True when it wrote."""
        online = frozenset(self._online_ids())
        now = self._clock()
        due = self._written_at is None or now - self._written_at >= self._heartbeat
        if online == self._written and not due:
            return False
        try:
            await self._write(online, now)
        except Exception as exc:
            # Said once per outage, not once a second; the next tick tries again.
            if not self._failing:
                log.warning("could not write this instance's socket presence: %s", type(exc).__name__)
            self._failing = True
            return False
        if self._failing:
            log.info("socket presence written again")
        self._failing = False
        self._written, self._written_at = online, now
        return True

    async def _write(self, online: frozenset[int], now: datetime) -> None:
        table = table_of(SocketPresence)
        async with self._sessionmaker() as session, session.begin():
            insert = upsert_insert(session, table).values(
                instance_id=self.instance_id, agent_ids=sorted(online), seen_at=now
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.instance_id],
                    set_={"agent_ids": insert.excluded.agent_ids, "seen_at": insert.excluded.seen_at},
                )
            )
            if self._written_at is None or now - self._written_at >= self._heartbeat:
                await session.execute(
                    delete(SocketPresence).where(
                        SocketPresence.seen_at < now - timedelta(seconds=FORGET_AFTER_S)
                    )
                )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self.tick()


async def online_elsewhere(
    session: AsyncSession,
    *,
    instance_id: str,
    now: datetime | None = None,
    expires_after_s: float = EXPIRES_AFTER_S,
) -> set[int]:
    """The agents with a socket open on another live instance than `instance_id`."""
    since = (now or utcnow()) - timedelta(seconds=expires_after_s)
    rows = await session.scalars(
        select(SocketPresence.agent_ids).where(
            SocketPresence.instance_id != instance_id, SocketPresence.seen_at >= since
        )
    )
    return {int(agent_id) for agent_ids in rows for agent_id in agent_ids or ()}


async def online_agents(
    session: AsyncSession, *, instance_id: str, here: Set[int], now: datetime | None = None
) -> set[int]:
    """Everyone online on any instance: `here` (this instance's hub, live) and the others' rows."""
    return set(here) | await online_elsewhere(session, instance_id=instance_id, now=now)
