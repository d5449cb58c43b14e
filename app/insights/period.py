"""The period the insights cover: whole days in the store's time zone, and the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 7
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # inclusive
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The first day's local midnight (a DST day is 23 or 25 hours long; midnight is midnight)."""
        return datetime.combine(self.first, time(0), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone)

    def previous(self) -> Period:
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone)

    def day_names(self) -> list[str]:
        return [(self.first + timedelta(days=n)).isoformat() for n in range(self.days)]


def period_of(first: date | None, last: date | None, zone: ZoneInfo, today: date) -> Period:
    """From `first` to `last` (inclusive); either missing: the DEFAULT_DAYS ending at the other, or
    ending today. ValueError for a period that runs backwards or is longer than MAX_DAYS."""
    if last is None:
        last = today if first is None else min(first + timedelta(days=DEFAULT_DAYS - 1), today)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError("`from` is after `to`")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"a period is at most {MAX_DAYS} days")
    return Period(first, last, zone)
