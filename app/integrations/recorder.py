"""Deliveries into the status tables, off the request path.

A delivery is noted in memory (a counter and the newest record per source and kind: dictionary
updates, no lock, no I/O) and every second one background task writes what accumulated in one
short transaction: the counts are added with `INSERT ... ON CONFLICT DO UPDATE SET count = count
+ excluded.count`, the "last" rows are replaced only by newer ones (`... DO UPDATE ... WHERE
at <= excluded.at`). Both are conditional upserts, so any number of instances write into the same
rows without reading them or coordinating; rows go in key order, so two instances' transactions
take their row locks in the same order and cannot deadlock.

What a crash loses is the last second of counts. While the database is away the notes stay in
memory (a few thousand keys a day at most: one per source, minute and outcome) and go in with the
next write that succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import table_of, upsert_insert, utcnow
from app.integrations.deliveries import Delivery, Outcome
from app.integrations.models import (
    ACCEPTED,
    AUTH_FAILURE,
    RECEIVED,
    REJECTED,
    IntegrationCount,
    IntegrationLast,
)

log = logging.getLogger("ringcard.integrations")

FLUSH_EVERY_S = 1.0
# Counts older than this are deleted (the status shows the last day).
KEEP_COUNTS = timedelta(days=2)
_SWEEP_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Last:
    at: datetime
    what: str
    outcome: str
    status: int
    reason: str | None
    detail: str | None


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class IntegrationRecorder:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, flush_every_s: float = FLUSH_EVERY_S
    ) -> None:
        self.sessionmaker = sessionmaker
        self.flush_every_s = flush_every_s
        self._counts: Counter[tuple[datetime, str, str]] = Counter()
        self._last: dict[tuple[str, str], Last] = {}
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._next_sweep = utcnow()

    # --- noting (on the request's way out) ------------------------------------------------------

    def note(self, delivery: Delivery) -> None:
        assert delivery.outcome is not None and delivery.status is not None
        outcome = delivery.outcome
        self._counts[(_minute(delivery.at), delivery.source, outcome.value)] += 1
        last = Last(
            delivery.at,
            delivery.what,
            outcome.value,
            delivery.status,
            delivery.reason.value if delivery.reason else None,
            delivery.detail,
        )
        self._keep(delivery.source, RECEIVED, last)
        if outcome is Outcome.ACCEPTED:
            self._keep(delivery.source, ACCEPTED, last)
        elif outcome is Outcome.REJECTED:
            self._keep(delivery.source, REJECTED, last)
            if delivery.auth_failure:
                self._keep(delivery.source, AUTH_FAILURE, last)

    def _keep(self, source: str, kind: str, last: Last) -> None:
        known = self._last.get((source, kind))
        if known is None or known.at <= last.at:
            self._last[(source, kind)] = last

    @property
    def pending(self) -> int:
        """Deliveries noted here and not yet written."""
        return sum(self._counts.values())

    # --- writing (in the background) -----------------------------------------------------------

    async def flush(self) -> None:
        """Write what was noted so far; on failure it stays for the next try (and this raises)."""
        counts, self._counts = self._counts, Counter()
        last, self._last = self._last, {}
        if not counts and not last:
            return
        try:
            async with self.sessionmaker() as session, session.begin():
                await _add_counts(session, counts)
                await _replace_last(session, last)
                now = utcnow()
                if now >= self._next_sweep:
                    self._next_sweep = now + _SWEEP_EVERY
                    await session.execute(
                        delete(IntegrationCount).where(IntegrationCount.minute < now - KEEP_COUNTS)
                    )
        except BaseException:
            self._put_back(counts, last)
            raise

    def _put_back(
        self, counts: Counter[tuple[datetime, str, str]], last: dict[tuple[str, str], Last]
    ) -> None:
        oldest = _minute(utcnow()) - KEEP_COUNTS
        for key, n in counts.items():
            if key[0] >= oldest:
                self._counts[key] += n
        for (source, kind), row in last.items():
            self._keep(source, kind, row)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="integration-status")

    async def stop(self, grace_s: float = 5.0) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with asyncio.timeout(grace_s):
                await self.flush()
        except Exception:
            log.warning("integration status: %d delivery counts were not written at shutdown", self.pending)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every_s)
            try:
                await self.flush()
            except Exception as exc:
                if not self._failing:
                    log.warning("integration status not written (%s); kept until the database answers", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("integration status written again")
                self._failing = False


async def _add_counts(session: AsyncSession, counts: Counter[tuple[datetime, str, str]]) -> None:
    if not counts:
        return
    table = table_of(IntegrationCount)
    insert = upsert_insert(session, table)
    statement = insert.on_conflict_do_update(
        index_elements=["minute", "source", "outcome"],
        set_={"count": table.c.count + insert.excluded.count},
    )
    rows = [
        {"minute": minute, "source": source, "outcome": outcome, "count": n}
        for (minute, source, outcome), n in sorted(counts.items())
    ]
    await session.execute(statement, rows)


async def _replace_last(session: AsyncSession, last: dict[tuple[str, str], Last]) -> None:
    if not last:
        return
    table = table_of(IntegrationLast)
    insert = upsert_insert(session, table)
    columns = ("at", "what", "outcome", "status", "reason", "detail")
    statement = insert.on_conflict_do_update(
        index_elements=["source", "kind"],
        set_={name: insert.excluded[name] for name in columns},
        # Another instance may have written a newer one meanwhile: it stays.
        where=table.c.at <= insert.excluded.at,
    )
    rows = [
        {
            "source": source,
            "kind": kind,
            "at": row.at,
            "what": row.what,
            "outcome": row.outcome,
            "status": row.status,
            "reason": row.reason,
            "detail": row.detail,
        }
        for (source, kind), row in sorted(last.items())
    ]
    await session.execute(statement, rows)
