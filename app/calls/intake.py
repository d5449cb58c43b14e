"""From a provider event to the agents' screens.

1. Record the event in one short transaction: its key goes into provider_events (a redelivery
   stops here), the call row is created or locked and moved forward by the state machine.
2. After the commit, and off the provider's answer path: a new call gets its card (lookup, at most
   three statements), every state change is published to the call's line, and the card and the
   match are kept on the call for the log, later envelopes and snapshots.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.events import ENDED_STATES, CallEvent, CallState, EventKind
from app.calls.identity import call_id_for
from app.calls.models import Call, ProviderEvent
from app.calls.state import CallFacts, advance, first_facts
from app.calls.views import call_json
from app.db import table_of, upsert_insert, utcnow
from app.logs import mask_phone
from app.lookup.card import CardRules, build_card
from app.lookup.lines import line_key
from app.lookup.phones import NumberKind, normalise

log = logging.getLogger("ringcard.calls")

LOOKUP_TIMEOUT_S = 5.0
_EVENT_TYPES = {
    CallState.RINGING: "call.ringing",
    CallState.ANSWERED: "call.answered",
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


def event_type(state: CallState) -> str:
    return _EVENT_TYPES.get(state, "call.ended")


class CallIntake:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        rules: CardRules,
        region: str,
        *,
        writer: async_sessionmaker[AsyncSession] | None = None,
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

    # --- entry points ------------------------------------------------------------------------

    async def record(self, event: CallEvent) -> Recorded | None:
        """Record the event and schedule the pop; None for a duplicate delivery."""
        recorded = await self._record(event)
        if recorded is not None and (recorded.created or recorded.changed):
            self._spawn(self._dispatch(recorded))
        return recorded

    def submit(self, event: CallEvent) -> None:
        """Everything in the background: for answers that must not wait on the database (TwiML)."""
        self._spawn(self._record_and_dispatch(event))

    async def drain(self) -> None:
        """Wait for the background work (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- recording -----------------------------------------------------------------------------

    async def _record_and_dispatch(self, event: CallEvent) -> None:
        # The card does not depend on the call's row: look the caller up while the call is being
        # recorded, on another connection. The pop still waits for the commit.
        early: asyncio.Task[dict[str, Any] | None] | None = None
        if event.kind is EventKind.RINGING:
            early = asyncio.create_task(self._lookup(event.from_raw, event.digits_carry_country_code))
        try:
            recorded = await self._record(event)
        except BaseException:
            if early is not None:
                early.cancel()
            raise
        if recorded is None or not (recorded.created or recorded.changed):
            if early is not None:
                early.cancel()
            return
        await self._dispatch(recorded, early)

    async def _record(self, event: CallEvent) -> Recorded | None:
        now = utcnow()
        async with self.writer() as session, session.begin():
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
                if call is None:
                    call = self._new_call(event, now)
                    session.add(call)
                    created = changed = True
                else:
                    facts = advance(_facts(call), event)
                    changed = facts is not None and facts.state.value != call.state
                    if facts is not None:
                        _apply(call, facts)
                        call.updated_at = now
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

    async def _dispatch(
        self, recorded: Recorded, early: asyncio.Task[dict[str, Any] | None] | None = None
    ) -> None:
        card = recorded.card
        if recorded.created:
            built = await early if early is not None else await self._lookup(recorded.call["from_raw"], False)
            card = self._keep_card(recorded, built)
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
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S), self.sessionmaker() as session:
                number = normalise(from_raw, self.region, digits_carry_country_code=digits_carry_country_code)
                return await build_card(session, number, self.rules, utcnow())
        except Exception:
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
        self._spawn(
            self._save_match(
                recorded.call_id,
                encoded,
                card["match"]["status"],
                customer.get("external_id"),
                customer.get("name"),
            )
        )
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

    def _remember(self, call_id: str, card: bytes) -> None:
        self._cards[call_id] = card
        while len(self._cards) > _CARD_CACHE_SIZE:
            self._cards.popitem(last=False)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Any) -> None:
        try:
            await work
        except Exception:
            log.exception("call processing failed")


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
