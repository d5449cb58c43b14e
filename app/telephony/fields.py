"""Rules every provider adapter applies to the values a provider sends, so that any value of a
field's documented type ends in a 2xx or a 422 that names the field, and never in a 500 from the
database or from Python's own parsers.

* **Identifiers** (a call's id) are refused when they are longer than the column that keeps them:
  cut to fit, two different calls sharing a long prefix would become one call. Refusing keeps them
  apart and tells the sender why; no provider documents ids anywhere near that long.
* **Numbers** are ASCII digits only: `str.isdigit()` is also true for `²` or `٣`, which `int()`
  then refuses or reads as something the provider never meant. They are bounded before `int()`
  runs (it refuses more than 4300 digits) and so that they fit the integer columns they go to.
* **Provider times** must lie within `TIME_WINDOW` of our clock: every duration the log derives
  from them (waiting and talking time) then fits a 32-bit integer column, and date arithmetic
  never leaves Python's calendar.
* **Descriptive text** (numbers as written, causes, who answered) is kept and cut to its column by
  the intake; it never decides which call an event belongs to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

# calls.provider_call_id is String(255): a longer id cannot be stored whole.
MAX_CALL_ID: Final = 255
# Twenty years between the earliest and the latest believable time of one call are 6.3e8 seconds,
# well inside the 2**31 - 1 of the waiting_s/talking_s columns.
TIME_WINDOW: Final = timedelta(days=3653)


def call_id_problem(value: str, name: str) -> str | None:
    """Why `value` cannot be a call's id (a message naming `name`), or None when it can."""
    if len(value) > MAX_CALL_ID:
        return f"{name} is longer than {MAX_CALL_ID} characters"
    return None


def whole_number(text: str, maximum: int) -> int | None:
    """`text` as a whole number from 0 to `maximum`, or None when it is anything else (a sign,
    a fraction, non-ASCII digits, too large)."""
    digits = text.strip()
    # The length check comes first so that int() never sees thousands of digits.
    if not digits or len(digits) > len(str(maximum)) or not (digits.isascii() and digits.isdigit()):
        return None
    value = int(digits)
    return value if value <= maximum else None


def believable_time(at: datetime, now: datetime) -> datetime | None:
    """`at` in UTC when it lies within `TIME_WINDOW` of `now`, else None (a naive `at` is UTC)."""
    try:
        utc = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 has no UTC form
        return None
    return utc if abs(utc - now) <= TIME_WINDOW else None
