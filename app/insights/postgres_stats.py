"""The KPIs, hours, days and agents computed inside PostgreSQL, for stores with millions of calls:
the same definitions as app/insights/kpis.py (which SQLite uses, reading the period's rows), as
aggregates over the period's calls read through `ix_calls_started_at`, repeat calls and call-backs
as EXISTS probes of `ix_calls_from_e164_started_at`. tests/insights run both against the same
formulas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.insights.kpis import CALLBACK_WINDOW, REPEAT_WINDOW, WRAP_UP_WINDOW, ratio

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
"""
# Each call's figures once (a subquery's columns), then the aggregates over them: the CASE
# expressions would otherwise be evaluated once per aggregate that names them.
_KPIS = f"""
SELECT
  count(*) AS offered,
  count(*) FILTER (WHERE x.answered) AS answered,
  count(*) FILTER (WHERE x.missed) AS missed,
  count(*) FILTER (WHERE x.missed AND coalesce(x.wait, 0) < :short) AS short_abandoned,
  count(*) FILTER (WHERE x.answered AND x.wait <= :sl) AS within,
  avg(x.wait) FILTER (WHERE x.answered) AS asa_s,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY x.wait) FILTER (WHERE x.answered AND x.wait IS NOT NULL)
    AS asa_p90_s,
  avg(x.handling) FILTER (WHERE x.answered) AS aht_s,
  count(*) FILTER (WHERE x.missed AND x.from_e164 IS NOT NULL) AS owed,
  count(*) FILTER (WHERE x.missed AND x.from_e164 IS NOT NULL AND (x.done OR EXISTS (
      SELECT 1 FROM calls o WHERE o.direction = 'out' AND o.to_raw = x.from_e164
        AND o.started_at > x.started_at AND o.started_at <= x.started_at + :callback))) AS called_back,
  count(*) FILTER (WHERE x.answered AND x.from_e164 IS NOT NULL) AS known,
  count(*) FILTER (WHERE x.answered AND x.from_e164 IS NOT NULL AND EXISTS (
      SELECT 1 FROM calls r WHERE r.from_e164 = x.from_e164 AND r.direction = 'in'
        AND r.started_at > x.started_at AND r.started_at <= x.started_at + :repeat)) AS repeated
FROM (
  SELECT c.started_at, c.from_e164, c.done, {_ANSWERED} AS answered, {_MISSED} AS missed,
    {_WAIT} AS wait, {_HANDLING} AS handling
  {_OFFERED}
  OFFSET 0
) AS x
"""
# Days and hours in one pass: each local (day, hour) once; the weekday grid and the days are
# summed from it.
_BY_DAY_HOUR = f"""
SELECT to_char(c.started_at AT TIME ZONE :zone, 'YYYY-MM-DD') AS day,
  extract(isodow FROM c.started_at AT TIME ZONE :zone)::int - 1 AS weekday,
  extract(hour FROM c.started_at AT TIME ZONE :zone)::int AS hour,
  count(*), count(*) FILTER (WHERE {_ANSWERED}), count(*) FILTER (WHERE {_MISSED})
{_OFFERED}
GROUP BY 1, 2, 3
"""
_BY_AGENT = f"""
SELECT c.answered_by, count(*), avg({_WAIT}), avg({_HANDLING})
{_OFFERED} AND {_ANSWERED} AND c.answered_by IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
"""


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _params(
    start: datetime, end: datetime, line: str | None, agent: str | None, **more: Any
) -> dict[str, Any]:
    return {"start": start, "end": end, "line": line, "agent": agent, "wrap": WRAP_UP_WINDOW, **more}


async def kpis(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    line: str | None,
    agent: str | None,
    *,
    service_level_s: float,
    short_abandon_s: float,
) -> dict[str, Any]:
    params = _params(
        start,
        end,
        line,
        agent,
        sl=service_level_s,
        short=short_abandon_s,
        callback=CALLBACK_WINDOW,
        repeat=REPEAT_WINDOW,
    )
    row = (await session.execute(text(_KPIS), params)).one()
    return {
        "offered": row.offered,
        "answered": row.answered,
        "missed": row.missed,
        "short_abandoned": row.short_abandoned,
        "service_level": ratio(row.within, row.offered - row.short_abandoned),
        "asa_s": _float(row.asa_s),
        "asa_p90_s": _float(row.asa_p90_s),
        "aht_s": _float(row.aht_s),
        "missed_rate": ratio(row.missed, row.offered),
        "callback_rate": ratio(row.called_back, row.owed),
        "repeat_rate_7d": ratio(row.repeated, row.known),
    }


async def by_hour_and_day(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    line: str | None,
    agent: str | None,
    zone: str,
    days: list[str],
) -> tuple[list[list[dict[str, int]]], list[dict[str, Any]]]:
    """The weekday-by-hour grid (Monday first) and the period's days, from one grouped scan."""
    grid = [[{"offered": 0, "answered": 0, "missed": 0} for _ in range(24)] for _ in range(7)]
    per_day = {day: {"date": day, "offered": 0, "answered": 0, "missed": 0} for day in days}
    for day, weekday, hour, offered, answered, missed in await session.execute(
        text(_BY_DAY_HOUR), _params(start, end, line, agent, zone=zone)
    ):
        cell = grid[weekday][hour]
        for target in (cell, per_day.get(day)):
            if target is not None:
                target["offered"] += offered
                target["answered"] += answered
                target["missed"] += missed
    return grid, list(per_day.values())


async def by_agent(
    session: AsyncSession, start: datetime, end: datetime, line: str | None, agent: str | None
) -> list[dict[str, Any]]:
    return [
        {"agent": name, "answered": n, "asa_s": _float(asa), "aht_s": _float(aht)}
        for name, n, asa, aht in await session.execute(text(_BY_AGENT), _params(start, end, line, agent))
    ]
