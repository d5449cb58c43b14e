"""The KPIs, hours, days and agents computed inside PostgreSQL, for stores with millions of calls:
the same definitions as app/insights/kpis.py (which SQLite uses, reading the period's rows), as
aggregates over the period's calls read through `ix_calls_started_at`; repeat calls and
call-backs are flags kept on the calls as they end (app/calls/follow_ups.py).
tests/insights run both against the same formulas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.insights.kpis import WRAP_UP_WINDOW, ratio
from app.insights.queries import CallScope

_ANSWERED = "(c.answered_at IS NOT NULL OR c.state IN ('answered', 'completed'))"
_MISSED = f"(NOT {_ANSWERED} AND c.state IN ('missed', 'busy', 'failed'))"
_WAIT = (
    f"CASE WHEN c.answered_at IS NOT NULL THEN extract(epoch FROM c.answered_at - c.started_at) "
    f"WHEN {_MISSED} AND c.ended_at IS NOT NULL THEN extract(epoch FROM c.ended_at - c.started_at) END"
)
_HANDLING = (
    "c.talking_s + CASE WHEN c.noted_at >= c.ended_at AND c.noted_at <= c.ended_at + :wrap "
    "THEN extract(epoch FROM c.noted_at - c.ended_at) ELSE 0 END"
)
_OFFERED = """
  FROM calls c
  WHERE c.started_at >= :start AND c.started_at < :end AND c.direction = 'in' AND NOT c.blocked
    AND (CAST(:line AS text) IS NULL OR c.line = :line)
    AND (CAST(:agent AS text) IS NULL OR c.answered_by = :agent)
    AND (CAST(:store AS text) IS NULL OR c.store_id = :store
         OR (CAST(:store AS text) = 'default' AND c.store_id IS NULL))
"""
# What each period counts, as aggregates over x (one row per call, below); `{p}` is the period.
_AGGREGATES = {
    "offered": "count(*) FILTER (WHERE {p})",
    "answered": "count(*) FILTER (WHERE {p} AND x.answered)",
    "missed": "count(*) FILTER (WHERE {p} AND x.missed)",
    "short_abandoned": "count(*) FILTER (WHERE {p} AND x.missed AND coalesce(x.wait, 0) < :short)",
    "within": "count(*) FILTER (WHERE {p} AND x.answered AND x.wait <= :sl)",
    "asa_s": "avg(x.wait) FILTER (WHERE {p} AND x.answered)",
    "asa_p90_s": "percentile_disc(0.9) WITHIN GROUP (ORDER BY x.wait)"
    " FILTER (WHERE {p} AND x.answered AND x.wait IS NOT NULL)",
    "aht_s": "avg(x.handling) FILTER (WHERE {p} AND x.answered)",
    "owed": "count(*) FILTER (WHERE {p} AND x.missed AND x.from_e164 IS NOT NULL)",
    "called_back": "count(*) FILTER (WHERE {p} AND x.missed AND x.from_e164 IS NOT NULL"
    " AND (x.done OR x.called_back))",
    "known": "count(*) FILTER (WHERE {p} AND x.answered AND x.from_e164 IS NOT NULL)",
    "repeated": "count(*) FILTER (WHERE {p} AND x.answered AND x.from_e164 IS NOT NULL AND x.called_again)",
}
_PERIODS = {"now": "x.current", "before": "NOT x.current"}
# The period and the one before it in one scan and one row of aggregates (grouping by the period
# would sort every call first). Each call's figures are computed once, as the subquery's columns:
# the CASE expressions would otherwise be evaluated once per aggregate that names them.
_KPIS = f"""
SELECT {", ".join(
    f"{sql.format(p=condition)} AS {period}_{name}"
    for period, condition in _PERIODS.items()
    for name, sql in _AGGREGATES.items()
)}
FROM (
  SELECT c.started_at >= :split AS current, c.from_e164, c.done, c.called_back, c.called_again,
    {_ANSWERED} AS answered, {_MISSED} AS missed, {_WAIT} AS wait, {_HANDLING} AS handling
  {_OFFERED}
  OFFSET 0
) AS x
"""
# Days and hours in one pass: the calls by local hour (the time zone applied once per call); the
# weekday grid and the days are summed from those hours here.
_BY_LOCAL_HOUR = f"""
SELECT x.hour, count(*), count(*) FILTER (WHERE x.answered), count(*) FILTER (WHERE x.missed)
FROM (
  SELECT date_trunc('hour', c.started_at AT TIME ZONE :zone) AS hour, {_ANSWERED} AS answered,
    {_MISSED} AS missed
  {_OFFERED}
  OFFSET 0
) AS x
GROUP BY 1
"""
_BY_AGENT = f"""
SELECT c.answered_by, count(*), avg({_WAIT}), avg({_HANDLING})
{_OFFERED} AND {_ANSWERED} AND c.answered_by IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _params(start: datetime, end: datetime, scope: CallScope, **more: Any) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "line": scope.line,
        "agent": scope.agent,
        "store": scope.store,
        "wrap": WRAP_UP_WINDOW,
        **more,
    }


async def kpis(
    session: AsyncSession,
    before: datetime,
    start: datetime,
    end: datetime,
    scope: CallScope,
    *,
    service_level_s: float,
    short_abandon_s: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The KPIs of the period from `start` to `end`, and of the one from `before` to `start`."""
    params = _params(before, end, scope, split=start, sl=service_level_s, short=short_abandon_s)
    row = (await session.execute(text(_KPIS), params)).one()._mapping
    current, previous = (
        _figures({name: row[f"{period}_{name}"] for name in _AGGREGATES}) for period in _PERIODS
    )
    return current, previous


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "offered": row["offered"],
        "answered": row["answered"],
        "missed": row["missed"],
        "short_abandoned": row["short_abandoned"],
        "service_level": ratio(row["within"], row["offered"] - row["short_abandoned"]),
        "asa_s": _float(row["asa_s"]),
        "asa_p90_s": _float(row["asa_p90_s"]),
        "aht_s": _float(row["aht_s"]),
        "missed_rate": ratio(row["missed"], row["offered"]),
        "callback_rate": ratio(row["called_back"], row["owed"]),
        "repeat_rate_7d": ratio(row["repeated"], row["known"]),
    }


async def by_hour_and_day(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    scope: CallScope,
    zone: str,
    days: list[str],
) -> tuple[list[list[dict[str, int]]], list[dict[str, Any]]]:
    """The weekday-by-hour grid (Monday first) and the period's days, from one grouped scan."""
    grid = [[{"offered": 0, "answered": 0, "missed": 0} for _ in range(24)] for _ in range(7)]
    per_day = {day: {"date": day, "offered": 0, "answered": 0, "missed": 0} for day in days}
    for local_hour, offered, answered, missed in await session.execute(
        text(_BY_LOCAL_HOUR), _params(start, end, scope, zone=zone)
    ):
        cell = grid[local_hour.weekday()][local_hour.hour]
        for target in (cell, per_day.get(local_hour.date().isoformat())):
            if target is not None:
                target["offered"] += offered
                target["answered"] += answered
                target["missed"] += missed
    return grid, list(per_day.values())


async def by_agent(
    session: AsyncSession, start: datetime, end: datetime, scope: CallScope
) -> list[dict[str, Any]]:
    return [
        {"agent": name, "answered": n, "asa_s": _float(asa), "aht_s": _float(aht)}
        for name, n, asa, aht in await session.execute(text(_BY_AGENT), _params(start, end, scope))
    ]
