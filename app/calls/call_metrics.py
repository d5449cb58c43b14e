"""The call KPIs (docs/kpis.md) as Prometheus metrics per line, for dashboards such as
docs/grafana/ringcard-calls.json (docs/metrics-calls.md says how to read them).

A call is counted once, when an event ends it: offered, then answered or missed, with its waiting
and talking times. The end is a state change only one transaction makes (under the call's row
lock): a redelivered hang-up is stopped at provider_events and a second end event changes nothing,
on whichever instance it arrives. Observing is a few counter increments in memory: no I/O on the
way to the pop.

Inbound calls that were not blocked only, as `offered` in the stats (app/insights/kpis.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.contracts import Direction
from app.calls.events import CallEvent, CallState, Parties
from app.calls.recent_cards import RecentCards
from app.calls.recording import CallRecorder, Recorded

# Call centres read waits against targets of 10-30 s and give up on callers after minutes.
WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0)
# From a quick answer to a two-hour support call.
TALK_BUCKETS = (30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0)
# A store has a handful of lines. Each process labels the first MAX_LINES lines it sees by their
# key and counts any line after those as "other", so a PBX that reports a new queue name for every
# call cannot grow the series without bound (at most MAX_LINES + 1 values of `line` per metric).
MAX_LINES = 20
OTHER_LINE = "other"
# A call whose line no event named.
NO_LINE = "none"
# As in the stats: an answer or a completed call is answered; an end without one is missed.
_ANSWERED_STATES = frozenset({CallState.ANSWERED, CallState.COMPLETED})

OFFERED = Counter("ringcard_calls_offered", "Inbound calls not blocked, counted when they end", ["line"])
ANSWERED = Counter("ringcard_calls_answered", "Offered calls that were answered", ["line"])
MISSED = Counter(
    "ringcard_calls_missed", "Offered calls that ended unanswered (missed, busy, failed)", ["line"]
)
SHORT_ABANDONED = Counter(
    "ringcard_calls_short_abandoned",
    "Missed calls whose caller waited less than RINGCARD_SHORT_ABANDON_S",
    ["line"],
)
WITHIN_SERVICE_LEVEL = Counter(
    "ringcard_calls_answered_within_service_level",
    "Answered calls whose caller waited at most RINGCARD_SERVICE_LEVEL_S",
    ["line"],
)
WAIT = Histogram(
    "ringcard_call_wait_seconds",
    "How long callers waited: until the answer, or until they gave up",
    ["line", "outcome"],
    buckets=WAIT_BUCKETS,
)
TALK = Histogram(
    "ringcard_call_talk_seconds", "Talking time of answered calls", ["line"], buckets=TALK_BUCKETS
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an offered call ended, for the metrics."""

    answered: bool
    wait_s: float | None
    talk_s: float | None


def ended_by(recorded: Recorded) -> bool:
    """Whether this event is the one that ended the call: it found the call not ended (or
    created it) and left it ended. An answer that turns a missed call into a completed one
    (Telnyx delivering the answer after the hang-up), or a provider's end after the quiet-call
    sweep closed the call, finds it ended already: the call was counted when it first ended and
    is not counted again; the stats API reports the corrected call."""
    return recorded.ended_now


def outcome_of(recorded: Recorded) -> Outcome | None:
    """The outcome of an ended call, None when it is not offered (outbound or blocked)."""
    row = recorded.row
    if row.direction != Direction.IN or row.blocked:
        return None
    answered = row.answered_at is not None or recorded.state in _ANSWERED_STATES
    end = row.answered_at if answered else row.ended_at
    wait = None if end is None else max((end - row.started_at).total_seconds(), 0.0)
    talk = float(row.talking_s) if answered and row.talking_s is not None else None
    return Outcome(answered=answered, wait_s=wait, talk_s=talk)


def _start_series(line: str) -> None:
    """Every series of a line, at zero: a ratio such as the service level needs its short-abandoned
    count to exist before the line's first short abandon (an absent series makes it empty)."""
    for counter in (OFFERED, ANSWERED, MISSED, SHORT_ABANDONED, WITHIN_SERVICE_LEVEL):
        counter.labels(line)
    for outcome in ("answered", "missed"):
        WAIT.labels(line, outcome)
    TALK.labels(line)


class CallMetrics:
    """The metrics of one running service: its thresholds and the lines it has labelled."""

    def __init__(
        self, *, service_level_s: float = 20.0, short_abandon_s: float = 5.0, max_lines: int = MAX_LINES
    ) -> None:
        self.service_level_s = service_level_s
        self.short_abandon_s = short_abandon_s
        self._max_lines = max_lines
        self._lines: set[str] = set()

    def line_label(self, line: str) -> str:
        label = line if line else NO_LINE
        if label in self._lines:
            return label
        if len(self._lines) >= self._max_lines:
            label = OTHER_LINE
            if label in self._lines:
                return label
        self._lines.add(label)
        _start_series(label)
        return label

    def observe(self, recorded: Recorded) -> None:
        """Count the call if this event ended it (see `ended_by`)."""
        if not ended_by(recorded):
            return
        outcome = outcome_of(recorded)
        if outcome is None:
            return
        line = self.line_label(recorded.line)
        OFFERED.labels(line).inc()
        if outcome.answered:
            ANSWERED.labels(line).inc()
            if outcome.wait_s is not None:
                WAIT.labels(line, "answered").observe(outcome.wait_s)
                if outcome.wait_s <= self.service_level_s:
                    WITHIN_SERVICE_LEVEL.labels(line).inc()
            if outcome.talk_s is not None:
                TALK.labels(line).observe(outcome.talk_s)
            return
        MISSED.labels(line).inc()
        # A missed call always has its end, so its wait is known.
        wait = outcome.wait_s or 0.0
        WAIT.labels(line, "missed").observe(wait)
        if wait < self.short_abandon_s:
            SHORT_ABANDONED.labels(line).inc()


class MeteredRecorder(CallRecorder):
    """The call recorder that counts each call in the metrics once its end is committed. Every
    event goes through it: the webhooks, the quiet-call closes and the outage buffer's replay."""

    def __init__(
        self,
        writer: async_sessionmaker[AsyncSession],
        region: str,
        cards: RecentCards,
        *,
        metrics: CallMetrics,
    ) -> None:
        super().__init__(writer, region, cards)
        self.metrics = metrics

    async def record(self, event: CallEvent, parties: Parties) -> Recorded | None:
        recorded = await super().record(event, parties)
        if recorded is not None:
            self.metrics.observe(recorded)
        return recorded
