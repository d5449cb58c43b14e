"""Whether a call was followed by another: a caller who calls again within REPEAT_WINDOW (the
repeat rate, docs/kpis.md), a missed caller whom the store called back within CALLBACK_WINDOW.
Kept on the calls as flags when a call ends, so the insights count a month of calls with one
range scan instead of probing the log once per call.

Marked in a transaction of its own right after the end is committed: the ending call marks the
earlier calls it follows up, and itself when a later call is already logged (events can arrive
out of order; a PBX may report a call only as it ends). Of any two calls, the one whose marking
runs last sees both rows committed, so no pair is missed. Each marking locks the rows it writes
(the earlier calls and its own) in id order before writing, so two markings never wait on each
other in a cycle; a flag is only ever set, so the order in which markings commit does not
matter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.calls.contracts import Direction
from app.calls.models import Call
from app.kit.phones import NumberKind, normalise

REPEAT_WINDOW: Final = timedelta(days=7)
CALLBACK_WINDOW: Final = timedelta(hours=24)


def callee_e164(to_raw: str, region: str) -> str | None:
    """The number an outbound call dialled, as E.164 (national numbers read in the store's
    region), so a call-back matches the caller's number however the agent typed it."""
    number = normalise(to_raw, region)
    return number.e164 if number.kind is NumberKind.E164 else None


async def mark_follow_ups(session: AsyncSession, call_id: str, region: str) -> None:
    """The ended call's follow-up flags, and those of the earlier calls it follows up."""
    call = (
        await session.execute(
            select(Call.direction, Call.from_e164, Call.to_e164, Call.to_raw, Call.started_at).where(
                Call.id == call_id
            )
        )
    ).one_or_none()
    if call is None:
        return
    start = call.started_at
    if call.direction == Direction.OUT:
        number = call.to_e164 or callee_e164(call.to_raw, region)
        if number is None:
            return
        earlier = await _locked(
            session,
            and_(
                _near(Call.from_e164, number, Direction.IN, start, -CALLBACK_WINDOW),
                Call.called_back.is_(False),
            ),
            call_id,
        )
        await _set(session, earlier, called_back=True)
        if call.to_e164 is None:  # a row the outage buffer wrote without it
            await _set(session, [call_id], to_e164=number)
        return
    number = call.from_e164
    if number is None:
        return  # a withheld number is neither a repeat nor owed a call-back
    earlier = await _locked(
        session,
        and_(
            _near(Call.from_e164, number, Direction.IN, start, -REPEAT_WINDOW), Call.called_again.is_(False)
        ),
        call_id,
    )
    await _set(session, earlier, called_again=True)
    # Later calls already logged (events arrive out of order): this call is followed up too.
    again, back = (
        await session.execute(
            select(
                exists().where(_near(Call.from_e164, number, Direction.IN, start, REPEAT_WINDOW)),
                exists().where(_near(Call.to_e164, number, Direction.OUT, start, CALLBACK_WINDOW)),
            )
        )
    ).one()
    own = {name: True for name, found in (("called_again", again), ("called_back", back)) if found}
    if own:
        await _set(session, [call_id], **own)


def _near(
    number_column: InstrumentedAttribute[str | None],
    number: str,
    direction: str,
    start: datetime,
    window: timedelta,
) -> ColumnElement[bool]:
    """Calls of `number` in `direction` within `window` after `start` (before it, when negative),
    `start` itself excluded."""
    near = [number_column == number, Call.direction == direction]
    if window < timedelta(0):
        return and_(*near, Call.started_at < start, Call.started_at >= start + window)
    return and_(*near, Call.started_at > start, Call.started_at <= start + window)


async def _locked(session: AsyncSession, followed: ColumnElement[bool], own: str) -> list[str]:
    """The ids of the earlier calls to mark, with the call's own row locked too, all in id order."""
    ids = await session.scalars(
        select(Call.id).where(or_(followed, Call.id == own)).order_by(Call.id).with_for_update()
    )
    return [found for found in ids if found != own]


async def _set(session: AsyncSession, ids: list[str], **flags: object) -> None:
    if ids:
        await session.execute(update(Call).where(Call.id.in_(ids)).values(**flags))
