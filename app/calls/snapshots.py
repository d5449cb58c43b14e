"""Snapshots from the call log, merged with what this process has just published.

The database knows every live call, whichever instance took its webhook and whether or not this
process restarted since; the in-memory view knows the newest envelope a moment before the
database has the card saved. A snapshot takes, per call, the newer of the two."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.contracts import Direction
from app.calls.events import CallState
from app.calls.intake import event_type
from app.calls.models import Call
from app.calls.views import call_json
from app.card.links import Links
from app.card.views import iso
from app.db import utcnow
from app.kit.lines import ALL_LINES
from app.push.snapshots import SnapshotSource

log = logging.getLogger("ringcard.calls")

# A call whose end was never reported is not live for ever: past the ring (call) timeout the
# sweeper ends it (app/calls/timeouts.py), and from then on snapshots leave it out, even before
# the sweep has come round.
RING_TIMEOUT_S = 180.0
CALL_TIMEOUT_S = 4 * 3600.0
# The newest calls a snapshot carries. A snapshot goes to every (re)connecting console in one
# frame: thousands of stuck calls once made it 5.4 MB, more than some clients accept, and 50
# reconnects took the service 12 s. No agent works through more live calls than this.
SNAPSHOT_MAX_CALLS = 200


class CallLogSnapshots:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        region: str,
        recent: SnapshotSource,
        *,
        links: Links,
        max_calls: int = SNAPSHOT_MAX_CALLS,
        ring_timeout_s: float = RING_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self._ringing_for_at_most = timedelta(seconds=ring_timeout_s)
        self._live_for_at_most = timedelta(seconds=call_timeout_s)
        self._sessionmaker = sessionmaker
        self._region = region
        self._links = links
        self._recent = recent
        self._max_calls = max_calls
        # Consoles reconnect in waves (a deploy, a network blip): one query serves every
        # connection that asks for the same lines while it runs.
        self._in_flight: dict[frozenset[str], asyncio.Future[list[bytes]]] = {}

    async def live_calls(self, lines: frozenset[str]) -> Sequence[bytes]:
        running = self._in_flight.get(lines)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._in_flight[lines] = future
        try:
            items = await self._merged(lines)
        except BaseException as exc:
            future.set_exception(exc)
            # Retrieved here so that a failure nobody else waited for is not reported as lost.
            future.exception()
            raise
        else:
            future.set_result(items)
            return items
        finally:
            del self._in_flight[lines]

    async def _merged(self, lines: frozenset[str]) -> list[bytes]:
        merged: dict[str, tuple[int, str, bytes]] = {}
        try:
            for item in await self._from_log(lines):
                merged[item[0]] = item[1:]
        except Exception:  # the database may be away: the in-memory view still serves
            log.exception("snapshot from the call log failed; using this instance's view only")
        for raw in await self._recent.live_calls(lines):
            head = orjson.loads(raw)
            known = merged.get(head["call_id"])
            if known is None or head["seq"] >= known[0]:
                if head.get("card") is None and known is not None:
                    # Keep the log's card: an envelope without one must not blank the pop.
                    head["card"] = orjson.loads(known[2])["card"]
                    raw = orjson.dumps(head)
                merged[head["call_id"]] = (head["seq"], str(head.get("at") or ""), raw)
        # The newest calls (ISO times of one format sort as text), oldest first as before.
        newest = sorted(merged.values(), key=lambda item: item[1], reverse=True)[: self._max_calls]
        return [raw for _, _, raw in sorted(newest, key=lambda item: item[0])]

    async def _from_log(self, lines: frozenset[str]) -> list[tuple[str, int, str, bytes]]:
        # Outbound and blocked calls are logged but never popped: not in snapshots either.
        now = utcnow()
        statement = select(Call).where(
            or_(
                and_(Call.state == CallState.ANSWERED.value, Call.updated_at >= now - self._live_for_at_most),
                and_(
                    Call.state == CallState.RINGING.value, Call.updated_at >= now - self._ringing_for_at_most
                ),
            ),
            Call.direction == Direction.IN,
            Call.blocked.is_(False),
        )
        if ALL_LINES not in lines:
            statement = statement.where(Call.line.in_(lines))
        statement = statement.order_by(Call.started_at.desc()).limit(self._max_calls)
        async with self._sessionmaker() as session:
            calls = (await session.scalars(statement)).all()
        return [(call.id, call.seq, iso(call.updated_at) or "", self._item(call)) for call in reversed(calls)]

    def _item(self, call: Call) -> bytes:
        envelope: dict[str, Any] = {
            "type": event_type(CallState(call.state)),
            "call_id": call.id,
            "seq": call.seq,
            "at": iso(call.updated_at),
            "call": call_json(call, self._region, links=self._links),
            "card": orjson.Fragment(call.card_json) if call.card_json else None,
        }
        return orjson.dumps(envelope)
