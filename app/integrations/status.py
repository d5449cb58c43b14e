"""The integration status as the API, the console and `ringcard doctor` show it: per source, the
newest delivery and what became of it, the counts of the last hour and day, the newest refusal and
signature failure with their reasons, and (the store sync API) the last write.

`state` sums a source up:

| state | when |
|---|---|
| `ok` | the newest delivery was accepted (or was a duplicate of one that was) |
| `failing` | the newest delivery was rejected or failed: look at `last_rejected` / `last_auth_failure` |
| `waiting` | switched on (its secret is set) and nothing has arrived yet |
| `unused` | as `waiting`, while another integration switched on by the same secret is in use |
| `off` | switched off and nothing has arrived |

(RINGCARD_CTI_TOKEN switches on the generic CTI, 3CX and the PBX lookup; a PBX uses one of them.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.integrations.deliveries import Outcome
from app.integrations.models import (
    ACCEPTED,
    AUTH_FAILURE,
    RECEIVED,
    REJECTED,
    IntegrationCount,
    IntegrationLast,
)
from app.integrations.sources import SOURCES, Source
from app.settings import Settings

OUTCOMES = tuple(outcome.value for outcome in Outcome)


def configured(source: Source, settings: Settings) -> bool:
    return bool(getattr(settings, source.setting))


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _last(row: IntegrationLast | None, *fields: str) -> dict[str, Any] | None:
    if row is None:
        return None
    shown: dict[str, Any] = {"at": _stamp(row.at), "what": row.what}
    for name in fields:
        shown[name] = getattr(row, name)
    return shown


def _state(source: Source, settings: Settings, last: dict[tuple[str, str], IntegrationLast]) -> str:
    received = last.get((source.name, RECEIVED))
    if received is not None:
        return "ok" if received.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE) else "failing"
    if not configured(source, settings):
        return "off"
    siblings = (s for s in SOURCES if s.setting == source.setting and s is not source)
    return "unused" if any((s.name, RECEIVED) in last for s in siblings) else "waiting"


async def read_status(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, Any]:
    """The status of every source. The hour is the last 60 minutes counted by whole minutes (this
    minute and the 59 before it), the day likewise 1440."""
    this_minute = now.replace(second=0, microsecond=0)
    hour_from = this_minute - timedelta(minutes=59)
    day_from = this_minute - timedelta(minutes=24 * 60 - 1)
    counts = await session.execute(
        select(
            IntegrationCount.source,
            IntegrationCount.outcome,
            func.sum(case((IntegrationCount.minute >= hour_from, IntegrationCount.count), else_=0)),
            func.sum(IntegrationCount.count),
        )
        .where(IntegrationCount.minute >= day_from)
        .group_by(IntegrationCount.source, IntegrationCount.outcome)
    )
    hour: dict[str, dict[str, int]] = {s.name: dict.fromkeys(OUTCOMES, 0) for s in SOURCES}
    day: dict[str, dict[str, int]] = {s.name: dict.fromkeys(OUTCOMES, 0) for s in SOURCES}
    for source, outcome, in_hour, in_day in counts:
        if source in hour and outcome in OUTCOMES:
            hour[source][outcome] = int(in_hour or 0)
            day[source][outcome] = int(in_day or 0)
    last: dict[tuple[str, str], IntegrationLast] = {
        (row.source, row.kind): row for row in await session.scalars(select(IntegrationLast))
    }
    sources = []
    for source in SOURCES:
        received = last.get((source.name, RECEIVED))
        entry: dict[str, Any] = {
            "source": source.name,
            "label": source.label,
            "kind": source.kind,
            "configured": configured(source, settings),
            "state": _state(source, settings, last),
            "last_received": _last(received, "outcome", "status"),
            "last_accepted": _last(last.get((source.name, ACCEPTED))),
            "last_hour": hour[source.name],
            "last_day": day[source.name],
            "last_rejected": _last(last.get((source.name, REJECTED)), "status", "reason", "detail"),
            "last_auth_failure": _last(last.get((source.name, AUTH_FAILURE)), "status", "reason", "detail"),
        }
        if source.kind == "sync":
            entry["last_write"] = entry["last_accepted"]
        sources.append(entry)
    return {"generated_at": _stamp(now), "sources": sources}
