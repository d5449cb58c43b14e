"""From a provider event to the agents' screens: the call intake the adapters (app/telephony)
hand their events to, each with whom it names, normalised once where it came in (`Parties`).

1. Record the event in one short transaction (recording.py): its key goes into provider_events (a
   redelivery stops here), the call row is created or locked and moved forward by the state
   machine.
2. After the commit, and off the provider's answer path: a new call gets its card (lookup, at most
   three statements, started while the event is being recorded), every state change is published
   to the call's line, and the card and the match are kept on the call for the log, later
   envelopes and snapshots.

While the database cannot be reached, events wait in memory and calls pop from there
(outage_buffer.py); calls whose provider went quiet are closed through `close_quiet`
(timeouts.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.background import Background
from app.calls.call_metrics import CallMetrics, MeteredRecorder
from app.calls.contracts import CallView, Direction, Publisher
from app.calls.events import CallEvent, CallState, EventKind, Parties, line_of, parties_of
from app.calls.outage_buffer import Outage
from app.calls.recent_cards import RecentCards
from app.calls.recording import Recorded
from app.calls.views import call_json, logged_caller
from app.card.build import build_card, card_without_store, with_call
from app.card.contracts import STORE_UNAVAILABLE, Card
from app.card.rules import CardRules
from app.card.store_rules import StoreCardRules
from app.db import utcnow
from app.db.faults import is_unavailable, keep_trying, retry_on_disconnect
from app.integrations import deliveries
from app.kit.masking import mask_phone
from app.kit.phones import NormalisedNumber
from app.push.event_types import EventType
from app.stores.models import DEFAULT_STORE

log = logging.getLogger("ringcard.calls")

LOOKUP_TIMEOUT_S = 5.0
# How long the card of a popped call keeps trying to reach its log row through database trouble.
SAVE_CARD_FOR_AT_MOST_S = 60.0
_EVENT_TYPES = {
    CallState.RINGING: EventType.CALL_RINGING,
    CallState.ANSWERED: EventType.CALL_ANSWERED,
}


def event_type(state: CallState) -> EventType:
    return _EVENT_TYPES.get(state, EventType.CALL_ENDED)


class CallIntake:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        rules: CardRules,
        region: str,
        *,
        writer: async_sessionmaker[AsyncSession] | None = None,
        reader: async_sessionmaker[AsyncSession] | None = None,
        buffer_limit: int = 10_000,
        metrics: CallMetrics | None = None,
        stores: StoreCardRules | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Each line's store: its region reads the caller's number, its rules build the card.
        # Without it, every line is the default store's with `rules` and `region`.
        self._stores = stores
        # Call events are written through their own pool whose connections commit without
        # waiting for the WAL flush (see create_app); the pop's lookups read through theirs, whose
        # connections plan each statement once (app/db CARD_LOOKUP_SETTINGS).
        self.writer = writer or sessionmaker
        self.reader = reader or sessionmaker
        self.publisher = publisher
        self.rules = rules
        self.region = region
        self._background = Background()
        # Cards built here, for the answer/hang-up envelopes that may beat the card's save.
        self._cards = RecentCards()
        # Every event is recorded through it (here and by the outage buffer): it counts each call
        # in the Prometheus metrics once its end is committed (call_metrics.py).
        self.metrics = metrics or CallMetrics()
        self._recorder = MeteredRecorder(self.writer, region, self._cards, metrics=self.metrics)
        self._outage = Outage(
            buffer_limit,
            self._recorder,
            self._cards,
            self._background,
            region,
            links=rules.links,
            publish=self._publish,
            dispatch=self._in_call_order,
        )
        # The newest dispatch of each call, which the next one waits for (see _in_call_order).
        self._dispatching: dict[str, asyncio.Future[None]] = {}

    # --- stores ----------------------------------------------------------------------------

    def _region_of(self, line: str) -> str:
        if self._stores is None:
            return self.region
        return self._stores.stores.of_line(line).view.region

    def home_store(self, line: str) -> str:
        """The id of the store whose line `line` is."""
        return DEFAULT_STORE if self._stores is None else self._stores.stores.of_line(line).id

    def _rules_of_line(self, line: str) -> CardRules:
        return self.rules if self._stores is None else self._stores.of_line(line)

    def parties(self, event: CallEvent, *, caller: NormalisedNumber | None = None) -> Parties:
        """Who calls on which line (events.parties_of), the caller's number read in the region of
        the line's store: `030 1234567` on the German shop's line is a Berlin number."""
        if self._stores is None:
            return parties_of(event, self.region, caller=caller)
        store = self._stores.stores.of_line(line_of(event, self.region))
        region = store.view.region
        parties = parties_of(event, region, caller=caller if region == self.region else None)
        return parties._replace(store=store.id)

    # --- entry points ------------------------------------------------------------------------

    async def record(self, event: CallEvent, parties: Parties) -> Recorded | None:
        """Record the event and schedule the pop; None for a duplicate delivery, and for an event
        kept until the database is back (raises CallLogUnavailable when it cannot be kept)."""
        if self._outage.must_wait(event):
            self._outage.keep(event, parties)
            return None
        try:
            recorded = await self._recorder.record(event, parties)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self._outage.keep(event, parties, database_failed=True)
            return None
        if recorded is None:
            deliveries.note_duplicate()  # the integration status counts it as one
        elif recorded.created or recorded.changed:
            self._background.spawn(self._in_call_order(recorded))
        return recorded

    async def close_quiet(self, event: CallEvent) -> bool:
        """End a call its provider went quiet about (`event.quiet_since` set): never buffered, since
        the next sweep tries again; True when this instance closed it."""
        recorded = await self._recorder.record(event, self.parties(event))
        if recorded is None or not recorded.changed:
            return False
        await self._in_call_order(recorded)
        return True

    def submit(self, event: CallEvent, parties: Parties) -> None:
        """Everything in the background: for answers that must not wait on the database (TwiML)."""
        # The request's delivery stays open until the event is known to be new or a duplicate.
        self._background.spawn(self._submitted(event, parties, deliveries.hold()))

    async def drain(self) -> None:
        """Wait for the background work (shutdown, tests)."""
        await self._background.drain()

    @property
    def events_waiting(self) -> int:
        """Call events kept in memory until the database is back."""
        return len(self._outage)

    async def stop(self, grace_s: float) -> None:
        """At shutdown: give waiting events `grace_s` to be written, then say how many this process
        takes with it."""
        await self._outage.stop(grace_s)

    # --- recording -----------------------------------------------------------------------------

    async def _submitted(
        self, event: CallEvent, parties: Parties, delivery: deliveries.Delivery | None
    ) -> None:
        duplicate = False
        try:
            duplicate = await self._record_and_dispatch(event, parties)
        finally:
            if delivery is not None:
                delivery.release(duplicate=duplicate)

    async def _record_and_dispatch(self, event: CallEvent, parties: Parties) -> bool:
        """True when the event was a duplicate delivery."""
        if self._outage.must_wait(event):
            self._outage.keep(event, parties)
            return False
        # The card does not depend on the call's row: look the caller up while the call is being
        # recorded, on another connection. The pop still waits for the commit.
        early: asyncio.Task[Card | None] | None = None
        if event.kind is EventKind.RINGING:
            early = asyncio.create_task(self._lookup(parties.caller, parties.line))
        try:
            recorded = await self._recorder.record(event, parties)
        except BaseException as exc:
            if early is not None:
                self._background.let_finish(early)
            if isinstance(exc, Exception) and is_unavailable(exc):
                self._outage.keep(event, parties, database_failed=True)
                return False
            raise
        if recorded is None or not (recorded.created or recorded.changed):
            if early is not None:
                self._background.let_finish(early)
            return recorded is None
        await self._in_call_order(recorded, early)
        return False

    # --- after the commit ----------------------------------------------------------------------

    async def _in_call_order(
        self, recorded: Recorded, early: asyncio.Task[Card | None] | None = None
    ) -> None:
        """Dispatch after the call's previous dispatch has finished. The ringing one looks the
        caller up first; an answer or hang-up recorded meanwhile must not overtake it, or the
        hub drops the ringing envelope (and its card) as older than what agents already have."""
        previous = self._dispatching.get(recorded.call_id)
        mine = asyncio.ensure_future(self._dispatch_after(previous, recorded, early))
        self._dispatching[recorded.call_id] = mine
        mine.add_done_callback(functools.partial(self._dispatched, recorded.call_id))
        await asyncio.shield(mine)

    def _dispatched(self, call_id: str, done: asyncio.Future[None]) -> None:
        if self._dispatching.get(call_id) is done:
            del self._dispatching[call_id]

    async def _dispatch_after(
        self,
        previous: asyncio.Future[None] | None,
        recorded: Recorded,
        early: asyncio.Task[Card | None] | None,
    ) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        await self._dispatch(recorded, early)

    async def _dispatch(self, recorded: Recorded, early: asyncio.Task[Card | None] | None = None) -> None:
        # A later event's record may have been read before the first one's card was built.
        card = recorded.card or self._cards.get(recorded.call_id)
        call: CallView | None = None
        save: Coroutine[Any, Any, None] | None = None
        if recorded.created:
            region = self._region_of(recorded.line)
            if early is not None:
                found = await early
            else:
                found = await self._lookup(logged_caller(recorded.row, region, recorded.heard), recorded.line)
            call, card, save = self._keep_card(recorded, found)
            if found is not None and found["match"]["status"] == STORE_UNAVAILABLE:
                caller = logged_caller(recorded.row, region, recorded.heard)
                self._background.spawn(
                    self._refresh_card_later(recorded.call_id, caller, recorded.line, recorded.seq)
                )
        await self._pop(recorded, call, card, save)

    async def _pop(
        self,
        recorded: Recorded,
        call: CallView | None,
        card: bytes | None,
        save: Coroutine[Any, Any, None] | None,
    ) -> None:
        """Publish the call to its line, then start `save` (the card's copy in the log): spawned
        before, its first steps (a session, a connection, its statement) would run ahead of the
        socket's writer."""
        try:
            await self._publish_logged(recorded, call, card)
        finally:
            if save is not None:
                self._background.spawn(save)

    async def _publish_logged(self, recorded: Recorded, call: CallView | None, card: bytes | None) -> None:
        row = recorded.row
        if row.blocked or row.direction != Direction.IN:
            # Logged, never popped: the PBX turned a blocked caller away before any phone rang,
            # and whoever placed an outbound call knows whom they are calling.
            return
        if call is None:
            call = call_json(row, self.region, links=self.rules.links, heard=recorded.heard)
        try:
            await self._publish(recorded.state, call, card, recorded.line, recorded.seq)
        except Exception:
            log.exception("publishing call %s failed", recorded.call_id)

    async def _publish(
        self, state: CallState, call: CallView, card: bytes | None, line: str, seq: int
    ) -> None:
        await self.publisher.publish_call_event(event_type(state), call, card, line, seq=seq)

    async def _build_card(self, session: AsyncSession, number: NormalisedNumber, line: str) -> Card:
        rules_of = self._stores.of if self._stores is not None else None
        return await build_card(session, number, self._rules_of_line(line), utcnow(), rules_of=rules_of)

    async def _lookup(self, number: NormalisedNumber, line: str) -> Card | None:
        async def look_up() -> Card:
            async with self.reader() as session:
                return await self._build_card(session, number, line)

        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                return await retry_on_disconnect(look_up)
        except Exception as exc:
            if is_unavailable(exc):
                # The caller's number still reaches the agent, with the reason for the empty card.
                log.warning("lookup for a call from %s: the database is unavailable", mask_phone(number.raw))
                return card_without_store(number, self.rules.links, self._rules_of_line(line).badge)
            # The pop still goes out (without a card); the call is in the log.
            log.exception("lookup for a call from %s failed", mask_phone(number.raw))
            return None

    def _keep_card(
        self, recorded: Recorded, found: Card | None
    ) -> tuple[CallView, bytes | None, Coroutine[Any, Any, None] | None]:
        """The call and its card, each built once, complete: the call names the match, the card
        carries the call. The card is serialised once (these bytes go to every agent) and kept
        in memory; the third item saves it with the call in the log, for the caller to spawn once
        the pop is out (None: nothing to save)."""
        if found is None:
            call = call_json(recorded.row, self.region, links=self.rules.links, heard=recorded.heard)
            return call, None, None
        call = call_json(
            recorded.row, self.region, links=self.rules.links, heard=recorded.heard, matched=found
        )
        encoded = orjson.dumps(with_call(found, call))
        self._cards.remember(recorded.call_id, encoded)
        status = found["match"]["status"]
        if status == STORE_UNAVAILABLE:
            # Shown, never saved: the log keeps no card rather than one that says "unavailable".
            return call, encoded, None
        # The customer's store: the card names it once there are several (it may be another
        # store than the line's), else everything is the line's.
        badge = found["store"]
        store = badge["id"] if badge is not None else (recorded.row.store_id or DEFAULT_STORE)
        save = functools.partial(
            self._recorder.save_match,
            recorded.call_id,
            encoded,
            status,
            call["customer_external_id"],
            call["customer_name"],
            store,
        )
        # The log's copy of the card must survive a database restart too.
        return call, encoded, keep_trying(save, for_at_most_s=SAVE_CARD_FOR_AT_MOST_S)

    async def _refresh_card_later(
        self, call_id: str, caller: NormalisedNumber, line: str, seen_seq: int
    ) -> None:
        """A call logged while its lookup could not read the store: once the database answers, the
        agent gets the real card (a newer envelope) and the log keeps it."""

        async def real_card() -> Card:
            async with self.reader() as session:
                return await self._build_card(session, caller, line)

        try:
            built = await keep_trying(real_card, for_at_most_s=SAVE_CARD_FOR_AT_MOST_S)
            current = await keep_trying(
                functools.partial(self._recorder.outrank, call_id, seen_seq),
                for_at_most_s=SAVE_CARD_FOR_AT_MOST_S,
            )
        except Exception:
            log.exception("call %s keeps the card without the store's data", call_id)
            return
        if current is None:
            return
        await self._pop(current, *self._keep_card(current, built))
