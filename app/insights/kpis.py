"""The call KPIs with the industry's definitions (docs/kpis.md), computed from the calls of a
period. Pure: rows in, figures out, so every formula is tested as written."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ANSWERED_STATES = frozenset({"answered", "completed"})
UNANSWERED_STATES = frozenset({"missed", "busy", "failed"})
# A note saved this soon after the hang-up is wrap-up work, counted in the handling time.
WRAP_UP_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str
    direction: str
    blocked: bool
    state: str
    line: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    talking_s: int | None
    answered_by: str | None
    noted_at: datetime | None
    done: bool
    from_e164: str | None
    # Kept as calls end (app/calls/follow_ups.py): the number called in again within 7 days; the
    # store called it back within 24 h.
    called_again: bool
    called_back: bool

    @property
    def offered(self) -> bool:
        return self.direction == "in" and not self.blocked

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or self.state in ANSWERED_STATES

    @property
    def missed(self) -> bool:
        return not self.answered and self.state in UNANSWERED_STATES

    @property
    def wait_s(self) -> float | None:
        """How long the caller waited: until the answer, or until they gave up."""
        end = self.answered_at or (self.ended_at if self.missed else None)
        return None if end is None else max((end - self.started_at).total_seconds(), 0.0)

    @property
    def handling_s(self) -> float | None:
        """Talking, plus wrap-up when the note was saved within WRAP_UP_WINDOW of the end."""
        if self.talking_s is None:
            return None
        wrap = 0.0
        if self.noted_at is not None and self.ended_at is not None:
            after = self.noted_at - self.ended_at
            if timedelta(0) <= after <= WRAP_UP_WINDOW:
                wrap = after.total_seconds()
        return self.talking_s + wrap


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (no calls of that kind)."""
    return None if whole <= 0 else part / whole


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The `share` percentile by nearest rank (the smallest value with at least that share at
    or below it): a value that occurred, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def kpis(
    calls: Sequence[CallRow],
    *,
    service_level_s: float,
    short_abandon_s: float,
) -> dict[str, Any]:
    """The KPIs of `calls` (a period's)."""
    offered = [c for c in calls if c.offered]
    answered = [c for c in offered if c.answered]
    missed = [c for c in offered if c.missed]
    short = [c for c in missed if (c.wait_s or 0.0) < short_abandon_s]
    waits = [w for c in answered if (w := c.wait_s) is not None]
    within = sum(1 for w in waits if w <= service_level_s)
    handled = [h for c in answered if (h := c.handling_s) is not None]
    # Call-backs are owed to callers who can be called back; a withheld number is not one.
    owed = [c for c in missed if c.from_e164]
    known = [c for c in answered if c.from_e164]
    return {
        "offered": len(offered),
        "answered": len(answered),
        "missed": len(missed),
        "short_abandoned": len(short),
        "service_level": ratio(within, len(offered) - len(short)),
        "asa_s": _mean(waits),
        "asa_p90_s": nearest_rank(waits, 0.9),
        "aht_s": _mean(handled),
        "missed_rate": ratio(len(missed), len(offered)),
        "callback_rate": ratio(sum(1 for c in owed if c.done or c.called_back), len(owed)),
        "repeat_rate_7d": ratio(sum(1 for c in known if c.called_again), len(known)),
    }


def by_hour(calls: Iterable[CallRow], zone: ZoneInfo) -> list[list[dict[str, int]]]:
    """Offered, answered and missed calls for each weekday (Monday first) and local hour."""
    grid = [[{"offered": 0, "answered": 0, "missed": 0} for _ in range(24)] for _ in range(7)]
    for c in calls:
        if not c.offered:
            continue
        local = c.started_at.astimezone(zone)
        cell = grid[local.weekday()][local.hour]
        cell["offered"] += 1
        cell["answered"] += c.answered
        cell["missed"] += c.missed
    return grid


def by_day(calls: Iterable[CallRow], zone: ZoneInfo, days: Sequence[str]) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {day: Counter() for day in days}
    for c in calls:
        if not c.offered:
            continue
        day = c.started_at.astimezone(zone).date().isoformat()
        if day in counts:
            counts[day]["offered"] += 1
            counts[day]["answered"] += c.answered
            counts[day]["missed"] += c.missed
    return [
        {"date": day, "offered": n["offered"], "answered": n["answered"], "missed": n["missed"]}
        for day, n in counts.items()
    ]


def by_agent(calls: Iterable[CallRow]) -> list[dict[str, Any]]:
    rows: dict[str, list[CallRow]] = {}
    for c in calls:
        if c.offered and c.answered and c.answered_by:
            rows.setdefault(c.answered_by, []).append(c)
    return sorted(
        (
            {
                "agent": agent,
                "answered": len(mine),
                "asa_s": _mean([w for c in mine if (w := c.wait_s) is not None]),
                "aht_s": _mean([h for c in mine if (h := c.handling_s) is not None]),
            }
            for agent, mine in rows.items()
        ),
        key=lambda row: (-row["answered"], row["agent"]),
    )
