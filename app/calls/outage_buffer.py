"""Call events that arrived while the database could not be reached, kept until it can, and the
calls they pop meanwhile.

Providers do not resend a call because our database was away: Twilio got its TwiML, the PBX its
200. So the events are kept here, in arrival order, and written to the call log (`Outage`) as soon
as the database answers again. The buffer is bounded (RINGCARD_CALL_EVENT_BUFFER): beyond it
an event is refused, and the provider's webhook hears 503 (those that retry, retry).

It lives in this process's memory: a process that crashes or is stopped while events wait here
loses them (docs/architecture.md says so); the pops they caused were already on the screens.

Meanwhile a ringing call pops from memory, with a card that says the store's data is unavailable;
once its events are written, it pops again from the log, with its real card.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable

import orjson
from prometheus_client import Counter as MetricCounter
from prometheus_client import Gauge

from app.calls.background import Background
from app.calls.contracts import CallView, Direction
from app.calls.events import CallEvent, CallState, EventKind, Parties
from app.calls.identity import call_id_for
from app.calls.models import Call
from app.calls.recent_cards import RecentCards
from app.calls.recording import CallRecorder, Recorded, apply_facts, facts_of, new_call
from app.calls.state import advance
from app.calls.views import call_json
from app.card.build import card_without_store, with_call
from app.card.links import Links
from app.db import utcnow
from app.db.faults import is_unavailable, keep_trying

log = logging.getLogger("ringcard.calls")

# While the database is away, how often the waiting call events try it again.
RETRY_FIRST_S = 0.05
RETRY_AT_MOST_S = 1.0
# How long a call ringing while the database is away waits for it before popping without a card.
OFFLINE_GRACE_S = 0.15
# How long a call shown from memory keeps trying to reach its log row through database trouble.
OUTRANK_FOR_AT_MOST_S = 60.0

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


# An event waiting, with whom it names (normalised where it came in).
Waiting = tuple[CallEvent, Parties]
Publish = Callable[[CallState, CallView, bytes | None, str, int], Awaitable[object]]
Dispatch = Callable[[Recorded], Awaitable[None]]


def call_key(event: CallEvent) -> tuple[str, str]:
    return event.provider, event.provider_call_id


class OutageBuffer:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._events: deque[Waiting] = deque()
        self._per_call: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._events)

    def holds(self, event: CallEvent) -> bool:
        """Whether events of this event's call are waiting (a newer one must wait behind them)."""
        return self._per_call[call_key(event)] > 0

    def add(self, event: CallEvent, parties: Parties) -> None:
        if len(self._events) >= self.limit:
            EVENTS_REFUSED.inc()
            raise CallLogUnavailable
        self._events.append((event, parties))
        self._per_call[call_key(event)] += 1
        EVENTS_WAITING.inc()

    def first(self) -> Waiting:
        return self._events[0]

    def pop(self) -> Waiting:
        """Remove the first event, once it is written (or found unwritable)."""
        waiting = self._events.popleft()
        key = call_key(waiting[0])
        self._per_call[key] -= 1
        if self._per_call[key] <= 0:
            del self._per_call[key]
        EVENTS_WAITING.dec()
        return waiting


class Outage:
    """The call intake while the database is away: the events kept for it, the calls shown from
    memory meanwhile (by call id), and the one task that writes the events once it is back."""

    def __init__(
        self,
        limit: int,
        recorder: CallRecorder,
        cards: RecentCards,
        background: Background,
        region: str,
        *,
        links: Links,
        publish: Publish,
        dispatch: Dispatch,
    ) -> None:
        self._waiting = OutageBuffer(limit)
        self._recorder = recorder
        self._cards = cards
        self._background = background
        self._region = region
        self._links = links
        self._publish = publish
        self._dispatch = dispatch
        self._shown_offline: dict[str, Call] = {}
        # Ringing calls waiting for the database, set once written: a call the database takes
        # within OFFLINE_GRACE_S pops with its real card instead of the "unavailable" one.
        self._written: dict[str, asyncio.Event] = {}
        self._replaying: asyncio.Task[None] | None = None
        self._try_now = asyncio.Event()
        self._database_back = True

    def __len__(self) -> int:
        """Call events kept in memory until the database is back."""
        return len(self._waiting)

    def must_wait(self, event: CallEvent) -> bool:
        """Whether `event` goes behind the waiting ones: always when events of its own call wait
        (their order matters), and for every event while the database is still away (trying it
        would only delay the pop). Once the database takes writes again, calls that have nothing
        waiting are recorded at once, even while the backlog is still being written."""
        return bool(self._waiting) and (not self._database_back or self._waiting.holds(event))

    def keep(self, event: CallEvent, parties: Parties, *, database_failed: bool = False) -> None:
        """Keep the event for when the database is back, and show the call from memory meanwhile
        (raises CallLogUnavailable when the buffer is full)."""
        self._waiting.add(event, parties)
        if database_failed:
            self._database_back = False
        if len(self._waiting) == 1:
            log.warning("the database is unavailable: call events are kept in memory until it is back")
        call_id = call_id_for(event.provider, event.provider_call_id)
        if event.kind is EventKind.RINGING and call_id not in self._shown_offline:
            self._written.setdefault(call_id, asyncio.Event())
        self._background.spawn(self._show_offline(event, parties))
        # A new call is worth a new try at once: the database may be back already.
        self._try_now.set()
        if self._replaying is None or self._replaying.done():
            self._replaying = asyncio.create_task(self._write_waiting())

    async def stop(self, grace_s: float) -> None:
        """At shutdown: give waiting events `grace_s` to be written, then say how many this process
        takes with it."""
        if self._replaying is not None and not self._replaying.done():
            done, _ = await asyncio.wait({self._replaying}, timeout=grace_s)
            if not done:
                self._replaying.cancel()
        if self._waiting:
            log.error(
                "%d call event(s) were never written: the database stayed unreachable until shutdown",
                len(self._waiting),
            )

    async def _show_offline(self, event: CallEvent, parties: Parties) -> None:
        """The pop without the database: the call as the events so far tell it, and a card with the
        caller's number that says the store's data is unavailable."""
        call_id = call_id_for(event.provider, event.provider_call_id)
        call = self._shown_offline.get(call_id)
        view: CallView | None = None
        card: bytes | None = None
        if call is None:
            # A call that began before the outage is shown again when its events are written.
            if event.kind is not EventKind.RINGING:
                return
            written = self._written.get(call_id)
            if written is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(OFFLINE_GRACE_S):
                        await written.wait()
                if written.is_set() or call_id in self._shown_offline:
                    return  # popped from the log after all (or by an earlier delivery)
            call = new_call(event, parties, utcnow())
            call.seq = 1
            self._shown_offline[call_id] = call
            view = call_json(call, self._region, links=self._links, heard=parties.caller)
            card = orjson.dumps(with_call(card_without_store(parties.caller, self._links), view))
            self._cards.remember(call_id, card)
        else:
            facts = advance(facts_of(call), event)
            if facts is None or facts.state.value == call.state:
                return
            apply_facts(call, facts)
            call.seq += 1
            card = self._cards.get(call_id)
        if call.blocked or call.direction != Direction.IN:
            return
        if view is None:
            view = call_json(call, self._region, links=self._links, heard=parties.caller)
        await self._publish(CallState(call.state), view, card, call.line, call.seq)

    async def _write_waiting(self) -> None:
        """Write the waiting events in arrival order as soon as the database takes them; then
        give every call shown from memory its real card."""
        delay = RETRY_FIRST_S
        while self._waiting:
            event, parties = self._waiting.first()
            try:
                recorded = await self._recorder.record(event, parties)
            except Exception as exc:
                if is_unavailable(exc):
                    self._database_back = False
                    self._try_now.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._try_now.wait()
                    delay = min(delay * 2, RETRY_AT_MOST_S)
                    continue
                log.exception("a call event kept during the outage could not be written; dropped")
                recorded = None
            delay = RETRY_FIRST_S
            self._database_back = True
            self._waiting.pop()
            if not self._waiting.holds(event):
                await self._after_written(event, recorded)
        log.info("the database is back: every call event kept meanwhile is written")

    async def _after_written(self, event: CallEvent, recorded: Recorded | None) -> None:
        call_id = call_id_for(event.provider, event.provider_call_id)
        written = self._written.pop(call_id, None)
        if written is not None:
            written.set()
        shown = self._shown_offline.pop(call_id, None)
        if shown is None:
            # Not shown from memory: publish as the events come in, as usual.
            if recorded is not None and (recorded.created or recorded.changed):
                await self._dispatch(recorded)
            return
        # Agents saw this call with the numbers `shown` gave it; its log row must outrank them.
        try:
            current = await keep_trying(
                functools.partial(self._recorder.outrank, call_id, shown.seq),
                for_at_most_s=OUTRANK_FOR_AT_MOST_S,
            )
        except Exception:
            log.exception("call %s is in the log but its card could not be refreshed", call_id)
            return
        if current is not None:
            await self._dispatch(current)
