"""Recording a call event in one short transaction: its key goes into provider_events (a
redelivery stops there), the call row is created or locked and moved forward by the state
machine. Also the later writes to a call's row: its card and match, and its seq moved past what
agents saw of it."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.contracts import Direction
from app.calls.events import ENDED_STATES, LINE_MAX, CallEvent, CallState, EventKind, Parties, fitted_key
from app.calls.follow_ups import callee_e164, mark_follow_ups
from app.calls.identity import call_id_for
from app.calls.models import Call, CallTopic, ProviderEvent
from app.calls.recent_cards import RecentCards
from app.calls.state import CallFacts, advance, first_facts
from app.calls.timeouts import still_quiet
from app.calls.topics import topics_of
from app.db import table_of, utcnow
from app.db.faults import retry_on_disconnect
from app.db.insert_once import insert_ignoring_conflicts
from app.kit.lines import line_key
from app.kit.phones import NormalisedNumber, NumberKind

log = logging.getLogger("ringcard.calls")

# calls.from_raw and calls.to_raw are String(255): the numbers as written are cut to fit.
TEXT_MAX = 255


@dataclass(slots=True)
class Recorded:
    """A call as one event left it, for what follows the commit (the card, the pop)."""

    call_id: str
    created: bool  # new to the log, or it has just learnt its caller: it needs its card
    changed: bool
    state: CallState
    # The state before this event; None for a call this event created.
    was: CallState | None
    seq: int
    line: str
    # The row as committed (sessions keep it loaded: expire_on_commit=False); read, never
    # changed, once the transaction is over.
    row: Call
    # The caller as the adapter normalised it from this event; None for a row read back.
    heard: NormalisedNumber | None
    card: bytes | None

    @property
    def ended_now(self) -> bool:
        """This event ended the call: one event per call does (under the call's row lock)."""
        return ends(self.was, self.state)


class CallRecorder:
    def __init__(self, writer: async_sessionmaker[AsyncSession], region: str, cards: RecentCards) -> None:
        self._writer = writer
        self._region = region
        self._cards = cards

    async def record(self, event: CallEvent, parties: Parties) -> Recorded | None:
        """The event recorded (None for a duplicate delivery, and for a quiet close that no longer
        applies), retried once when the connection drops. A call this event ended then has its
        follow-ups marked (app/calls/follow_ups.py)."""
        recorded = await retry_on_disconnect(functools.partial(self._record_racing, event, parties))
        if recorded is not None and recorded.ended_now:
            await self._follow_up(recorded.call_id)
        return recorded

    async def _follow_up(self, call_id: str) -> None:
        """In a transaction of its own, after the end's commit: one that held the call's row lock
        while locking earlier calls would deadlock with those calls' own endings."""

        async def mark() -> None:
            async with self._writer() as session, session.begin():
                await mark_follow_ups(session, call_id, self._region)

        try:
            await retry_on_disconnect(mark)
        except Exception:
            # The end is logged; the pairs only this marking would have set stay unmarked.
            log.exception("marking the follow-ups of call %s failed", call_id)

    async def _record_racing(self, event: CallEvent, parties: Parties) -> Recorded | None:
        """`_record`, once more when another first event of the same call inserted the call row
        between this one's look and its insert: the second try finds the row and locks it."""
        try:
            return await self._record(event, parties)
        except IntegrityError:
            return await self._record(event, parties)

    async def _record(self, event: CallEvent, parties: Parties) -> Recorded | None:
        now = utcnow()
        async with self._writer() as session, session.begin():
            if event.quiet_since is None:
                key = {"provider": event.provider, "event_key": event.key()[:255], "received_at": now}
                fresh = await session.scalar(
                    insert_ignoring_conflicts(table_of(ProviderEvent), key, returning="id"), key
                )
                if fresh is None:
                    log.info("duplicate %s event for call %s ignored", event.provider, event.provider_call_id)
                    return None
            # Usually the first event of a call is its ringing: one INSERT, no lock, no read.
            call = (
                await _insert_new(session, event, parties, now, self._region)
                if event.kind is EventKind.RINGING
                else None
            )
            created = changed = call is not None
            was: CallState | None = None
            if call is None:
                call = await _lock_call(session, event)
                was = CallState(call.state) if call is not None else None
                if call is None and event.quiet_since is not None:
                    return None
                if call is None:
                    call = new_call(event, parties, now, region=self._region)
                    session.add(call)
                    created = changed = True
                elif event.quiet_since is not None and not still_quiet(call, event.quiet_since):
                    return None  # the provider spoke again before this instance closed the call
                else:
                    facts = advance(facts_of(call), event)
                    changed = facts is not None and facts.state.value != call.state
                    if facts is not None:
                        apply_facts(call, facts)
                        call.updated_at = now
                    if self._fill_parties(call, event, parties):
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
                was=was,
                seq=call.seq,
                line=call.line,
                row=call,
                heard=parties.caller,
                card=call.card_json or self._cards.get(call.id),
            )

    def _fill_parties(self, call: Call, event: CallEvent, parties: Parties) -> bool:
        """A call first heard of through its answer or hang-up (the ringing lost or late, a PBX
        reporting the end only) learns its caller and line from the first event that names them.
        True when it learnt the caller."""
        learnt_caller = not call.from_raw and bool(event.from_raw)
        if learnt_caller:
            call.from_raw = event.from_raw[:TEXT_MAX]
            call.from_e164 = _e164(parties.caller)
        if not call.to_raw and event.to_raw:
            call.to_raw = event.to_raw[:TEXT_MAX]
            if call.direction == Direction.OUT:
                call.to_e164 = callee_e164(call.to_raw, self._region)
        if not call.line:
            if call.direction == event.direction:
                if parties.line:
                    call.line = parties.line
            else:
                # The event's line is the one of its own direction; the call's is what counts.
                line_raw = event.line or (event.to_raw if call.direction == Direction.IN else event.from_raw)
                if line_raw:
                    call.line = line_key(line_raw, self._region)[:LINE_MAX]
        return learnt_caller

    async def outrank(self, call_id: str, seen_seq: int) -> Recorded | None:
        """The call as logged, its seq moved past `seen_seq` (what agents saw of it), so that the
        envelope about to go out supersedes everything before it, on every instance."""
        async with self._writer() as session, session.begin():
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
                was=CallState(call.state),
                seq=call.seq,
                line=call.line,
                row=call,
                heard=None,
                card=call.card_json,
            )

    async def save_match(
        self,
        call_id: str,
        card: bytes,
        status: str,
        external_id: str | None,
        name: str | None,
        store: str,
    ) -> None:
        """Keep the card the call popped with, and whom it matched (`external_id` of `store`), on
        the call's row."""
        from app.store.models import Customer

        async with self._writer() as session, session.begin():
            customer_id = None
            if external_id is not None:
                # By the store too: (store_id, external_id) is the index; the external id alone
                # is a scan of every customer.
                customer_id = await session.scalar(
                    select(Customer.id).where(Customer.store_id == store, Customer.external_id == external_id)
                )
            # The same statement says whether the call is an offered one (inbound, not blocked),
            # whose topics the insights count, and when it started.
            saved = (
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
                    .returning(Call.started_at, Call.direction, Call.blocked)
                )
            ).first()
            # What an offered call was about, for the insights: as the card the call keeps says.
            await session.execute(delete(CallTopic).where(CallTopic.call_id == call_id))
            offered = saved is not None and saved.direction == Direction.IN and not saved.blocked
            started_at = saved.started_at if saved is not None else None
            topics = topics_of(orjson.loads(card)) if offered else []
            if topics:
                rows = [
                    {"call_id": call_id, "kind": kind, "key": key, "label": label, "started_at": started_at}
                    for kind, key, label in topics
                ]
                await session.execute(insert_ignoring_conflicts(table_of(CallTopic), rows[0]), rows)


async def _lock_call(session: AsyncSession, event: CallEvent) -> Call | None:
    # Two first events of one call may race: the unique (provider, provider_call_id) makes
    # one of them wait here and then see the other's row.
    statement = (
        select(Call)
        .where(Call.provider == event.provider, Call.provider_call_id == event.provider_call_id)
        .with_for_update()
    )
    call: Call | None = await session.scalar(statement)
    return call


async def _insert_new(
    session: AsyncSession, event: CallEvent, parties: Parties, now: datetime, region: str
) -> Call | None:
    """The call as inserted now, or None when it already exists."""
    call = new_call(event, parties, now, region=region)
    call.seq = 1
    values = {c.name: getattr(call, c.key) for c in table_of(Call).columns}
    inserted = await session.scalar(insert_ignoring_conflicts(table_of(Call), values, returning="id"), values)
    return call if inserted is not None else None


def ends(was: CallState | None, now: CallState) -> bool:
    """A call in state `was` (None: not logged yet) that is `now` has just ended."""
    return now in ENDED_STATES and (was is None or was not in ENDED_STATES)


def new_call(event: CallEvent, parties: Parties, now: datetime, *, region: str | None = None) -> Call:
    """The row of a call the log has not seen, from whatever event came first; with the store's
    `region`, an outbound call's dialled number as E.164 too (for call-backs)."""
    call = Call(
        id=call_id_for(event.provider, event.provider_call_id),
        provider=event.provider,
        provider_call_id=event.provider_call_id,
        direction=event.direction,
        from_raw=event.from_raw[:TEXT_MAX],
        from_e164=_e164(parties.caller),
        to_raw=event.to_raw[:TEXT_MAX],
        line=parties.line,
        store_id=parties.store,
        to_e164=callee_e164(event.to_raw, region) if region and event.direction == Direction.OUT else None,
        blocked=event.blocked,
        called_again=False,
        called_back=False,
        seq=0,
        updated_at=now,
    )
    apply_facts(call, first_facts(event))
    return call


def _e164(number: NormalisedNumber) -> str | None:
    return number.e164 if number.kind is NumberKind.E164 else None


def facts_of(call: Call) -> CallFacts:
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


def apply_facts(call: Call, facts: CallFacts) -> None:
    call.state = facts.state.value
    call.started_at = facts.started_at
    call.answered_at = facts.answered_at
    call.ended_at = facts.ended_at
    call.answered_by = facts.answered_by
    call.end_cause = facts.end_cause
    call.talking_s = facts.talking_s
    call.waiting_s = facts.waiting_s
    # A missed inbound call stays on the to-do list until an agent marks it done.
    missed = facts.state is CallState.MISSED and facts.direction == Direction.IN
    call.done = not missed if facts.state in ENDED_STATES else call.done if call.done is not None else True


async def first_delivery(session: AsyncSession, provider: str, key: str) -> bool:
    """True the first time a provider's delivery `key` is seen; a redelivery finds it in
    provider_events. Written in the caller's transaction: a delivery that fails leaves no key
    behind, and its retry counts."""
    delivery = {"provider": provider, "event_key": fitted_key(key), "received_at": utcnow()}
    inserted = await session.scalar(
        insert_ignoring_conflicts(table_of(ProviderEvent), delivery, returning="id"), delivery
    )
    return inserted is not None
