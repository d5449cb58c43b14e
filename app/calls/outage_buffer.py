"""Call events that arrived while the database could not be reached, kept until it can.

Providers do not resend a call because our database was away: Twilio got its TwiML, the PBX its
200. So the events are kept here, in arrival order, and written to the call log by the intake as
soon as the database answers again. The buffer is bounded (RINGCARD_CALL_EVENT_BUFFER): beyond it
an event is refused, and the provider's webhook hears 503 (those that retry, retry).

It lives in this process's memory: a process that crashes or is stopped while events wait here
loses them (docs/architecture.md says so); the pops they caused were already on the screens.
"""

from __future__ import annotations

from collections import Counter, deque

from prometheus_client import Counter as MetricCounter
from prometheus_client import Gauge

from app.calls.events import CallEvent

EVENTS_WAITING = Gauge(
    "ringcard_call_events_waiting_for_database",
    "Call events kept in memory because the database could not be reached",
)
EVENTS_REFUSED = MetricCounter(
    "ringcard_call_events_refused",
    "Call events refused because the database was away and the buffer was full",
)


class CallLogUnavailable(Exception):
    """The database is away and the buffer is full: the event cannot be taken now."""


def call_key(event: CallEvent) -> tuple[str, str]:
    return event.provider, event.provider_call_id


class OutageBuffer:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._events: deque[CallEvent] = deque()
        self._per_call: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._events)

    def holds(self, event: CallEvent) -> bool:
        """Whether events of this event's call are waiting (a newer one must wait behind them)."""
        return self._per_call[call_key(event)] > 0

    def add(self, event: CallEvent) -> None:
        if len(self._events) >= self.limit:
            EVENTS_REFUSED.inc()
            raise CallLogUnavailable
        self._events.append(event)
        self._per_call[call_key(event)] += 1
        EVENTS_WAITING.inc()

    def first(self) -> CallEvent:
        return self._events[0]

    def pop(self) -> CallEvent:
        """Remove the first event, once it is written (or found unwritable)."""
        event = self._events.popleft()
        key = call_key(event)
        self._per_call[key] -= 1
        if self._per_call[key] <= 0:
            del self._per_call[key]
        EVENTS_WAITING.dec()
        return event
