"""From a provider event to the agents' screens.

While the database cannot be reached, events wait in a bounded in-memory buffer (outage_buffer.py)
and calls pop from memory with a card that says the store's data is unavailable; once the
database is back the events are written in arrival order and those calls get their real card.

1. Record the event in one short transaction: its key goes into provider_events (a redelivery
   stops here), the call row is created or locked and moved forward by the state machine.
2. After the commit, and off the provider's answer path: a new call gets its card (lookup, at most
   three statements), every state change is published to the call's line, and the card and the
   match are kept on the call for the log, later envelopes and snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.events import ENDED_STATES, LIVE_STATES, CallEvent, CallState, EventKind
from app.calls.identity import call_id_for
from app.calls.models import Call, ProviderEvent
from app.calls.outage_buffer import OutageBuffer
from app.calls.state import CallFacts, advance, first_facts
from app.calls.views import call_json
from app.card.build import STORE_UNAVAILABLE, CardRules, build_card, card_without_store
from app.db import table_of, upsert_insert, utcnow
from app.db.faults import is_unavailable, keep_trying, retry_on_disconnect
from app.integrations import deliveries
from app.kit.lines import line_key
from app.kit.masking import mask_phone
from app.kit.phones import NumberKind, normalise
from app.push.event_types import EventType

log = logging.getLogger("ringcard.calls")

LOOKUP_TIMEOUT_S = 5.0
# While the database is away, how often the waiting call events try it again.
RETRY_FIRST_S = 0.05
RETRY_AT_MOST_S = 1.0
# How long a call ringing while the database is away waits for it before popping without a card.
OFFLINE_GRACE_S = 0.15
# How long the card of a popped call keeps trying to reach its log row through database trouble.
SAVE_CARD_FOR_AT_MOST_S = 60.0
_EVENT_TYPES = {
    CallState.RINGING: EventType.CALL_RINGING,
    CallState.ANSWERED: EventType.CALL_ANSWERED,
}
_CARD_CACHE_SIZE = 2000


class Publisher(Protocol):
    async def publish_call_event(
        self,
        event_type: str,
        call: dict[str, Any],
        card: dict[str, Any] | bytes | None,
        line: str,
        *,
        seq: int | None = None,
        at: datetime | None = None,
    ) -> int | None: ...


@dataclass(slots=True)
class Recorded:
    call_id: str
    created: bool
    changed: bool
    state: CallState
    seq: int
    line: str
    call: dict[str, Any]
    card: bytes | None


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
        buffer_limit: int = 10_000,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Call events are written through their own pool whose connections commit without
        # waiting for the WAL flush (see create_app); lookups read through the main one.
        self.writer = writer or sessionmaker
        self.publisher = publisher
        self.rules = rules
        self.region = region
        self._tasks: set[asyncio.Task[None]] = set()
        # Cards built here, for the answer/hang-up envelopes that may beat the card's save.
        self._cards: OrderedDict[str, bytes] = OrderedDict()
        # While the database is away: the events waiting for it, the calls shown from memory
        # meanwhile (by call id), and the one task that writes the events once it is back.
        self._waiting = OutageBuffer(buffer_limit)
        self._shown_offline: dict[str, Call] = {}
        # Ringing calls waiting for the database, set once written: a call the database takes
        # within OFFLINE_GRACE_S pops with its real card instead of the "unavailable" one.
        self._written: dict[str, asyncio.Event] = {}
        # The newest dispatch of each call, which the next one waits for (see _in_call_order).
        self._dispatching: dict[str, asyncio.Future[None]] = {}
        self._replaying: asyncio.Task[None] | None = None
        self._try_now = asyncio.Event()
        self._database_back = True

    # --- entry points ------------------------------------------------------------------------

    async def record(self, event: CallEvent) -> Recorded | None:
        """Record the event and schedule the pop; None for a duplicate delivery, and for an event
        kept until the database is back (raises CallLogUnavailable when it cannot be kept)."""
        if self._must_wait(event):
            self._record_later(event)
            return None
        try:
            recorded = await retry_on_disconnect(functools.partial(self._record_racing, event))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self._record_later(event, database_failed=True)
            return None
        if recorded is None:
            deliveries.note_duplicate()  # the integration status counts it as one
        elif recorded.created or recorded.changed:
            self._spawn(self._in_call_order(recorded))
        return recorded

    async def close_quiet(self, event: CallEvent) -> bool:
        """End a call its provider went quiet about (`event.quiet_since` set): never buffered, since
        the next sweep tries again; True when this instance closed it."""
        recorded = await retry_on_disconnect(functools.partial(self._record_racing, event))
        if recorded is None or not recorded.changed:
            return False
        await self._in_call_order(recorded)
        return True

    def submit(self, event: CallEvent) -> None:
        """Everything in the background: for answers that must not wait on the database (TwiML)."""
        # The request's delivery stays open until the event is known to be new or a duplicate.
        self._spawn(self._submitted(event, deliveries.hold()))

    async def drain(self) -> None:
        """Wait for the background work (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def events_waiting(self) -> int:
        """Call events kept in memory until the database is back."""
        return len(self._waiting)

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

    # --- recording -----------------------------------------------------------------------------

    async def _submitted(self, event: CallEvent, delivery: deliveries.Delivery | None) -> None:
        duplicate = False
        try:
            duplicate = await self._record_and_dispatch(event)
        finally:
            if delivery is not None:
                delivery.release(duplicate=duplicate)

    async def _record_and_dispatch(self, event: CallEvent) -> bool:
        """True when the event was a duplicate delivery."""
        if self._must_wait(event):
            self._record_later(event)
            return False
        # The card does not depend on the call's row: look the caller up while the call is being
        # recorded, on another connection. The pop still waits for the commit.
        early: asyncio.Task[dict[str, Any] | None] | None = None
        if event.kind is EventKind.RINGING:
            early = asyncio.create_task(self._lookup(event.from_raw, event.digits_carry_country_code))
        try:
            recorded = await retry_on_disconnect(functools.partial(self._record_racing, event))
        except BaseException as exc:
            if early is not None:
                self._let_finish(early)
            if isinstance(exc, Exception) and is_unavailable(exc):
                self._record_later(event, database_failed=True)
                return False
            raise
        if recorded is None or not (recorded.created or recorded.changed):
            if early is not None:
                self._let_finish(early)
            return recorded is None
        await self._in_call_order(recorded, early)
        return False

    async def _record_racing(self, event: CallEvent) -> Recorded | None:
        """`_record`, once more when another first event of the same call inserted the call row
        between this one's look and its insert: the second try finds the row and locks it."""
        try:
            return await self._record(event)
        except IntegrityError:
            return await self._record(event)

    async def _record(self, event: CallEvent) -> Recorded | None:
        now = utcnow()
        async with self.writer() as session, session.begin():
            if event.quiet_since is None:
                fresh = await session.scalar(
                    upsert_insert(session, table_of(ProviderEvent))
                    .values(provider=event.provider, event_key=event.key()[:255], received_at=now)
                    .on_conflict_do_nothing()
                    .returning(ProviderEvent.id)
                )
                if fresh is None:
                    log.info("duplicate %s event for call %s ignored", event.provider, event.provider_call_id)
                    return None
            # Usually the first event of a call is its ringing: one INSERT, no lock, no read.
            call = await self._insert_new(session, event, now) if event.kind is EventKind.RINGING else None
            created = changed = call is not None
            if call is None:
                call = await self._lock_call(session, event)
                if call is None and event.quiet_since is not None:
                    return None
                if call is None:
                    call = self._new_call(event, now)
                    session.add(call)
                    created = changed = True
                elif event.quiet_since is not None and not _quiet_since(call, event.quiet_since):
                    return None  # the provider spoke again before this instance closed the call
                else:
                    facts = advance(_facts(call), event)
                    changed = facts is not None and facts.state.value != call.state
                    if facts is not None:
                        _apply(call, facts)
                        call.updated_at = now
                    if self._fill_parties(call, event):
                        # Now there is a caller to look up: the card follows, as for a new call.
                        created = changed = True
                if changed:
                    call.seq += 1
                await session.flush()
            return Recorded(
                call_id=call.id,
                created=created,
                changed=changed,
                state=CallState(call.state),
                seq=call.seq,
                line=call.line,
                call=call_json(call, self.region),
                card=call.card_json or self._cards.get(call.id),
            )

    async def _lock_call(self, session: AsyncSession, event: CallEvent) -> Call | None:
        # Two first events of one call may race: the unique (provider, provider_call_id) makes
        # one of them wait here and then see the other's row.
        statement = (
            select(Call)
            .where(Call.provider == event.provider, Call.provider_call_id == event.provider_call_id)
            .with_for_update()
        )
        call: Call | None = await session.scalar(statement)
        return call

    async def _insert_new(self, session: AsyncSession, event: CallEvent, now: datetime) -> Call | None:
        """The call as inserted now, or None when it already exists."""
        call = self._new_call(event, now)
        call.seq = 1
        values = {c.name: getattr(call, c.key) for c in table_of(Call).columns}
        inserted = await session.scalar(
            upsert_insert(session, table_of(Call)).values(values).on_conflict_do_nothing().returning(Call.id)
        )
        return call if inserted is not None else None

    def _fill_parties(self, call: Call, event: CallEvent) -> bool:
        """A call first heard of through its answer or hang-up (the ringing lost or late, a PBX
        reporting the end only) learns its caller and line from the first event that names them.
        True when it learnt the caller."""
        learnt_caller = not call.from_raw and bool(event.from_raw)
        if learnt_caller:
            number = normalise(
                event.from_raw, self.region, digits_carry_country_code=event.digits_carry_country_code
            )
            call.from_raw = event.from_raw[:255]
            call.from_e164 = number.e164 if number.kind is NumberKind.E164 else None
        if not call.to_raw and event.to_raw:
            call.to_raw = event.to_raw[:255]
        if not call.line:
            line_raw = event.line or (event.to_raw if call.direction == "in" else event.from_raw)
            if line_raw:
                call.line = line_key(line_raw, self.region)[:64]
        return learnt_caller

    def _new_call(self, event: CallEvent, now: datetime) -> Call:
        facts = first_facts(event)
        number = normalise(
            event.from_raw, self.region, digits_carry_country_code=event.digits_carry_country_code
        )
        line_raw = event.line or (event.to_raw if event.direction == "in" else event.from_raw)
        call = Call(
            id=call_id_for(event.provider, event.provider_call_id),
            provider=event.provider,
            provider_call_id=event.provider_call_id,
            direction=event.direction,
            from_raw=event.from_raw[:255],
            from_e164=number.e164 if number.kind is NumberKind.E164 else None,
            to_raw=event.to_raw[:255],
            line=line_key(line_raw, self.region)[:64] if line_raw else "",
            blocked=event.blocked,
            seq=0,
            updated_at=now,
        )
        _apply(call, facts)
        return call

    # --- after the commit ----------------------------------------------------------------------

    async def _in_call_order(
        self, recorded: Recorded, early: asyncio.Task[dict[str, Any] | None] | None = None
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
        early: asyncio.Task[dict[str, Any] | None] | None,
    ) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        await self._dispatch(recorded, early)

    async def _dispatch(
        self, recorded: Recorded, early: asyncio.Task[dict[str, Any] | None] | None = None
    ) -> None:
        # A later event's record may have been read before the first one's card was built.
        card = recorded.card or self._cards.get(recorded.call_id)
        if recorded.created:
            built = await early if early is not None else await self._lookup(recorded.call["from_raw"], False)
            card = self._keep_card(recorded, built)
            if built is not None and built["match"]["status"] == STORE_UNAVAILABLE:
                self._spawn(
                    self._refresh_card_later(recorded.call_id, recorded.call["from_raw"], recorded.seq)
                )
        if recorded.call["blocked"] or recorded.call["direction"] != "in":
            # Logged, never popped: the PBX turned a blocked caller away before any phone rang,
            # and whoever placed an outbound call knows whom they are calling.
            return
        try:
            await self.publisher.publish_call_event(
                event_type(recorded.state), recorded.call, card, recorded.line, seq=recorded.seq
            )
        except Exception:
            log.exception("publishing call %s failed", recorded.call_id)

    async def _lookup(self, from_raw: str, digits_carry_country_code: bool) -> dict[str, Any] | None:
        number = normalise(from_raw, self.region, digits_carry_country_code=digits_carry_country_code)

        async def look_up() -> dict[str, Any]:
            async with self.sessionmaker() as session:
                return await build_card(session, number, self.rules, utcnow())

        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                return await retry_on_disconnect(look_up)
        except Exception as exc:
            if is_unavailable(exc):
                # The caller's number still reaches the agent, with the reason for the empty card.
                log.warning("lookup for a call from %s: the database is unavailable", mask_phone(from_raw))
                return card_without_store(number)
            # The pop still goes out (without a card); the call is in the log.
            log.exception("lookup for a call from %s failed", mask_phone(from_raw))
            return None

    def _keep_card(self, recorded: Recorded, card: dict[str, Any] | None) -> bytes | None:
        """Serialise the card once (these bytes go to every agent) and keep it with the call."""
        if card is None:
            return None
        customer = card.get("customer") or {}
        recorded.call.update(
            customer_external_id=customer.get("external_id"),
            customer_name=customer.get("name"),
            match_status=card["match"]["status"],
        )
        card["call"] = recorded.call
        encoded = orjson.dumps(card)
        self._remember(recorded.call_id, encoded)
        if card["match"]["status"] == STORE_UNAVAILABLE:
            # Shown, never saved: the log keeps no card rather than one that says "unavailable".
            return encoded
        save = functools.partial(
            self._save_match,
            recorded.call_id,
            encoded,
            card["match"]["status"],
            customer.get("external_id"),
            customer.get("name"),
        )
        # The pop is out; the log's copy of the card must survive a database restart too.
        self._spawn(keep_trying(save, for_at_most_s=SAVE_CARD_FOR_AT_MOST_S))
        return encoded

    async def _save_match(
        self, call_id: str, card: bytes, status: str, external_id: str | None, name: str | None
    ) -> None:
        from app.store.models import Customer

        async with self.writer() as session, session.begin():
            customer_id = None
            if external_id is not None:
                customer_id = await session.scalar(
                    select(Customer.id).where(Customer.external_id == external_id)
                )
            await session.execute(
                update(Call)
                .where(Call.id == call_id)
                .values(
                    card_json=card,
                    match_status=status,
                    customer_id=customer_id,
                    customer_external_id=external_id,
                    customer_name=name,
                )
            )

    # --- while the database is away ---------------------------------------------------------------

    def _must_wait(self, event: CallEvent) -> bool:
        """Whether `event` goes behind the waiting ones: always when events of its own call wait
        (their order matters), and for every event while the database is still away (trying it
        would only delay the pop). Once the database takes writes again, calls that have nothing
        waiting are recorded at once, even while the backlog is still being written."""
        return bool(self._waiting) and (not self._database_back or self._waiting.holds(event))

    def _record_later(self, event: CallEvent, *, database_failed: bool = False) -> None:
        """Keep the event for when the database is back, and show the call from memory meanwhile."""
        self._waiting.add(event)
        if database_failed:
            self._database_back = False
        if len(self._waiting) == 1:
            log.warning("the database is unavailable: call events are kept in memory until it is back")
        call_id = call_id_for(event.provider, event.provider_call_id)
        if event.kind is EventKind.RINGING and call_id not in self._shown_offline:
            self._written.setdefault(call_id, asyncio.Event())
        self._spawn(self._show_offline(event))
        # A new call is worth a new try at once: the database may be back already.
        self._try_now.set()
        if self._replaying is None or self._replaying.done():
            self._replaying = asyncio.create_task(self._write_waiting())

    async def _show_offline(self, event: CallEvent) -> None:
        """The pop without the database: the call as the events so far tell it, and a card with the
        caller's number that says the store's data is unavailable."""
        call_id = call_id_for(event.provider, event.provider_call_id)
        call = self._shown_offline.get(call_id)
        now = utcnow()
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
            call = self._new_call(event, now)
            call.seq = 1
            self._shown_offline[call_id] = call
            number = normalise(
                event.from_raw, self.region, digits_carry_country_code=event.digits_carry_country_code
            )
            offline_card = card_without_store(number)
            offline_card["call"] = call_json(call, self.region)
            card = orjson.dumps(offline_card)
            self._remember(call_id, card)
        else:
            facts = advance(_facts(call), event)
            if facts is None or facts.state.value == call.state:
                return
            _apply(call, facts)
            call.seq += 1
            card = self._cards.get(call_id)
        if call.blocked or call.direction != "in":
            return
        await self.publisher.publish_call_event(
            event_type(CallState(call.state)), call_json(call, self.region), card, call.line, seq=call.seq
        )

    async def _write_waiting(self) -> None:
        """Write the waiting events in arrival order as soon as the database takes them; then
        give every call shown from memory its real card."""
        delay = RETRY_FIRST_S
        while self._waiting:
            event = self._waiting.first()
            try:
                recorded = await retry_on_disconnect(functools.partial(self._record_racing, event))
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
                await self._in_call_order(recorded)
            return
        # Agents saw this call with the numbers `shown` gave it; its log row must outrank them.
        try:
            current = await keep_trying(
                functools.partial(self._outrank, call_id, shown.seq), for_at_most_s=SAVE_CARD_FOR_AT_MOST_S
            )
        except Exception:
            log.exception("call %s is in the log but its card could not be refreshed", call_id)
            return
        if current is not None:
            await self._in_call_order(current)

    async def _refresh_card_later(self, call_id: str, from_raw: str, seen_seq: int) -> None:
        """A call logged while its lookup could not read the store: once the database answers, the
        agent gets the real card (a newer envelope) and the log keeps it."""
        number = normalise(from_raw, self.region)

        async def real_card() -> dict[str, Any]:
            async with self.sessionmaker() as session:
                return await build_card(session, number, self.rules, utcnow())

        try:
            built = await keep_trying(real_card, for_at_most_s=SAVE_CARD_FOR_AT_MOST_S)
            current = await keep_trying(
                functools.partial(self._outrank, call_id, seen_seq), for_at_most_s=SAVE_CARD_FOR_AT_MOST_S
            )
        except Exception:
            log.exception("call %s keeps the card without the store's data", call_id)
            return
        if current is None:
            return
        card = self._keep_card(current, built)
        if current.call["blocked"] or current.call["direction"] != "in":
            return
        await self.publisher.publish_call_event(
            event_type(current.state), current.call, card, current.line, seq=current.seq
        )

    async def _outrank(self, call_id: str, seen_seq: int) -> Recorded | None:
        """The call as logged, its seq moved past `seen_seq` (what agents saw of it), so that the
        envelope about to go out supersedes everything before it, on every instance."""
        async with self.writer() as session, session.begin():
            call = await session.scalar(select(Call).where(Call.id == call_id).with_for_update())
            if call is None:
                return None
            call.seq = max(call.seq, seen_seq) + 1
            await session.flush()
            return Recorded(
                call_id=call.id,
                # The card is built now unless one was saved (by another instance).
                created=call.card_json is None,
                changed=True,
                state=CallState(call.state),
                seq=call.seq,
                line=call.line,
                call=call_json(call, self.region),
                card=call.card_json,
            )

    def _remember(self, call_id: str, card: bytes) -> None:
        self._cards[call_id] = card
        while len(self._cards) > _CARD_CACHE_SIZE:
            self._cards.popitem(last=False)

    def _let_finish(self, task: asyncio.Task[Any]) -> None:
        """Keep an unwanted lookup running to its end rather than cancel it: a query cancelled
        mid-statement leaves its asyncpg connection in a state the next user trips over."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Any) -> None:
        try:
            await work
        except Exception:
            log.exception("call processing failed")


def _quiet_since(call: Call, since: datetime) -> bool:
    """Whether `call` is still live and nothing has changed it since `since`."""
    return CallState(call.state) in LIVE_STATES and call.updated_at <= since


def _facts(call: Call) -> CallFacts:
    return CallFacts(
        state=CallState(call.state),
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        answered_by=call.answered_by,
        end_cause=call.end_cause,
        talking_s=call.talking_s,
        direction=call.direction,
    )


def _apply(call: Call, facts: CallFacts) -> None:
    call.state = facts.state.value
    call.started_at = facts.started_at
    call.answered_at = facts.answered_at
    call.ended_at = facts.ended_at
    call.answered_by = facts.answered_by
    call.end_cause = facts.end_cause
    call.talking_s = facts.talking_s
    call.waiting_s = facts.waiting_s
    # A missed inbound call stays on the to-do list until an agent marks it done.
    missed = facts.state is CallState.MISSED and facts.direction == "in"
    call.done = not missed if facts.state in ENDED_STATES else call.done if call.done is not None else True
