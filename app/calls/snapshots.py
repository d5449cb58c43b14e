"""Snapshots from the call log, merged with what this process has just published.

The database knows every live call, whichever instance took its webhook and whether or not this
process restarted since; the in-memory view knows the newest envelope a moment before the
database has the card saved. A snapshot takes, per call, the newer of the two."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.events import CallState
from app.calls.intake import event_type
from app.calls.models import Call
from app.calls.views import call_json
from app.db import utcnow
from app.lookup.lines import ALL_LINES
from app.lookup.views import iso
from app.push.snapshots import SnapshotSource

log = logging.getLogger("ringcard.calls")

# A call whose end was never reported is not live for ever.
LIVE_FOR_AT_MOST = timedelta(hours=4)
LIVE_STATES = (CallState.RINGING.value, CallState.ANSWERED.value)


class CallLogSnapshots:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], region: str, recent: SnapshotSource
    ) -> None:
        self._sessionmaker = sessionmaker
        self._region = region
        self._recent = recent

    async def live_calls(self, lines: frozenset[str]) -> Sequence[bytes]:
        merged: dict[str, tuple[int, bytes]] = {}
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
                    head["card"] = orjson.loads(known[1])["card"]
                    raw = orjson.dumps(head)
                merged[head["call_id"]] = (head["seq"], raw)
        return [raw for _, raw in sorted(merged.values(), key=lambda item: item[0])]

    async def _from_log(self, lines: frozenset[str]) -> list[tuple[str, int, bytes]]:
        # Outbound and blocked calls are logged but never popped: not in snapshots either.
        statement = select(Call).where(
            Call.state.in_(LIVE_STATES),
            Call.started_at >= utcnow() - LIVE_FOR_AT_MOST,
            Call.direction == "in",
            Call.blocked.is_(False),
        )
        if ALL_LINES not in lines:
            statement = statement.where(Call.line.in_(lines))
        async with self._sessionmaker() as session:
            calls = (await session.scalars(statement.order_by(Call.started_at))).all()
        return [(call.id, call.seq, self._item(call)) for call in calls]

    def _item(self, call: Call) -> bytes:
        envelope: dict[str, Any] = {
            "type": event_type(CallState(call.state)),
            "call_id": call.id,
            "seq": call.seq,
            "at": iso(call.updated_at),
            "call": call_json(call, self._region),
            "card": orjson.Fragment(call.card_json) if call.card_json else None,
        }
        return orjson.dumps(envelope)
