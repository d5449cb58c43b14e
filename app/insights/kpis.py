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
CALLBACK_WINDOW = timedelta(hours=24)
REPEAT_WINDOW = timedelta(days=7)


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
    to_raw: str  # outbound calls: whom the agent called, as dialled (call-backs: the caller's E.164)

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
    later: Sequence[CallRow],
    *,
    service_level_s: float,
    short_abandon_s: float,
) -> dict[str, Any]:
    """The KPIs of `calls` (a period's); `later` are the calls after them that call-backs and
    repeat calls are looked for in (all calls from the period's start to a week past its end)."""
    offered = [c for c in calls if c.offered]
    answered = [c for c in offered if c.answered]
    missed = [c for c in offered if c.missed]
    short = [c for c in missed if (c.wait_s or 0.0) < short_abandon_s]
    waits = [w for c in answered if (w := c.wait_s) is not None]
    within = sum(1 for w in waits if w <= service_level_s)
    handled = [h for c in answered if (h := c.handling_s) is not None]
    inbound_by_number: dict[str, list[datetime]] = {}
    outbound_by_number: dict[str, list[datetime]] = {}
    for c in later:
        if c.direction == "in" and c.from_e164:
            inbound_by_number.setdefault(c.from_e164, []).append(c.started_at)
        elif c.direction == "out" and c.to_raw:
            outbound_by_number.setdefault(c.to_raw, []).append(c.started_at)

    def called_back(call: CallRow) -> bool:
        if call.done:
            return True
        times = outbound_by_number.get(call.from_e164 or "", ())
        return any(call.started_at < t <= call.started_at + CALLBACK_WINDOW for t in times)

    def called_again(call: CallRow) -> bool:
        times = inbound_by_number.get(call.from_e164 or "", ())
        return any(call.started_at < t <= call.started_at + REPEAT_WINDOW for t in times)

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
        "callback_rate": ratio(sum(1 for c in owed if called_back(c)), len(owed)),
        "repeat_rate_7d": ratio(sum(1 for c in known if called_again(c)), len(known)),
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
