"""Calls whose provider went quiet are ended by Ringcard: a ringing call with no event for
RINGCARD_RING_TIMEOUT_S is missed, an answered one with no hang-up for RINGCARD_CALL_TIMEOUT_S is
completed, both with the end cause `no_final_event` and the time they were last heard of.

Every instance sweeps. The closing goes through the call intake like any event, under the call's
row lock and only if the call is still unchanged since it was found quiet, so two instances never
close one call twice and a real event that gets in first wins; the `call.ended` envelope goes
through the broker to every instance's agents, and live snapshots stop carrying the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.contracts import Provider
from app.calls.events import LIVE_STATES, NO_FINAL_EVENT, CallEvent, CallState, EventKind
from app.calls.models import Call
from app.db import utcnow
from app.db.faults import is_unavailable

log = logging.getLogger("ringcard.calls")

# Quiet calls closed per sweep; the next sweep takes the rest.
SWEEP_BATCH = 200
SWEEP_EVERY_AT_MOST_S = 15.0
SWEEP_EVERY_AT_LEAST_S = 0.25


@dataclass(frozen=True, slots=True)
class QuietCall:
    provider: str
    provider_call_id: str
    state: CallState
    last_heard: datetime


class QuietCloser(Protocol):
    """What closes a quiet call: the call intake (app/calls/intake.py)."""

    async def close_quiet(self, event: CallEvent) -> bool: ...


def still_quiet(call: Call, since: datetime) -> bool:
    """Whether `call` is still live and nothing has changed it since `since`: only then does the
    closing apply (the recording checks it under the call's row lock)."""
    return CallState(call.state) in LIVE_STATES and call.updated_at <= since


def sweep_interval(ring_timeout_s: float, call_timeout_s: float) -> float:
    """A quarter of the shorter timeout: a quiet call is closed at most 25% late."""
    quarter = min(ring_timeout_s, call_timeout_s) / 4
    return min(max(quarter, SWEEP_EVERY_AT_LEAST_S), SWEEP_EVERY_AT_MOST_S)


def closing_event(call: QuietCall) -> CallEvent:
    return CallEvent(
        provider=Provider(call.provider),
        provider_call_id=call.provider_call_id,
        kind=EventKind.ENDED,
        # When it was last heard of: the most Ringcard knows; the cause says it is not measured.
        at=call.last_heard,
        ended_as=CallState.COMPLETED if call.state is CallState.ANSWERED else CallState.MISSED,
        end_cause=NO_FINAL_EVENT,
        quiet_since=call.last_heard,
    )


class QuietCallSweeper:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        intake: QuietCloser,
        *,
        ring_timeout_s: float,
        call_timeout_s: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._intake = intake
        self._ring_timeout = timedelta(seconds=ring_timeout_s)
        self._call_timeout = timedelta(seconds=call_timeout_s)
        self._every_s = sweep_interval(ring_timeout_s, call_timeout_s)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await self.sweep()
            except Exception as exc:
                if is_unavailable(exc):
                    # The next sweep finds the same calls; nothing is lost by waiting.
                    log.warning("quiet calls not swept: the database is unavailable")
                else:
                    log.exception("sweeping quiet calls failed")

    async def sweep(self) -> int:
        """Close the calls quiet for longer than their timeout; how many this instance closed."""
        closed = 0
        for call in await self.quiet_calls(utcnow()):
            if await self._intake.close_quiet(closing_event(call)):
                closed += 1
        if closed:
            log.info("closed %d call(s) whose provider sent no final event", closed)
        return closed

    async def quiet_calls(self, now: datetime) -> list[QuietCall]:
        statement = (
            select(Call.provider, Call.provider_call_id, Call.state, Call.updated_at)
            .where(
                or_(
                    and_(Call.state == CallState.RINGING.value, Call.updated_at < now - self._ring_timeout),
                    and_(Call.state == CallState.ANSWERED.value, Call.updated_at < now - self._call_timeout),
                )
            )
            .order_by(Call.updated_at)
            .limit(SWEEP_BATCH)
        )
        async with self._sessionmaker() as session:
            rows = (await session.execute(statement)).all()
        return [QuietCall(r.provider, r.provider_call_id, CallState(r.state), r.updated_at) for r in rows]
