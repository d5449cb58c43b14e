"""Whether a call was followed by another: a caller who calls again within REPEAT_WINDOW (the
repeat rate, docs/kpis.md), a missed caller whom the store called back within CALLBACK_WINDOW.
Kept on the calls as flags when a call ends, so the insights count a month of calls with one
range scan instead of probing the log once per call.

Each pair of calls is settled by whichever of the two ends last: it marks the earlier calls it
follows up (looking back), and itself when a later call already exists (events can arrive out of
order). Every call ends (a quiet call is closed by the sweep), so no pair is missed. The updates
only ever reach calls that started earlier than the one ending, so two endings of one number
never wait on each other in a cycle; a flag is only ever set, never cleared, so the order in
which endings commit does not matter."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


async def mark_follow_ups(session: AsyncSession, call: Call, region: str) -> None:
    """The ended `call`'s follow-up flags, and those of the earlier calls it follows up; in the
    transaction that records its end."""
    if call.direction == Direction.OUT:
        call.to_e164 = callee_e164(call.to_raw, region)
        if call.to_e164 is not None:
            await session.execute(
                update(Call)
                .where(
                    Call.from_e164 == call.to_e164,
                    Call.direction == Direction.IN,
                    Call.started_at < call.started_at,
                    Call.started_at >= call.started_at - CALLBACK_WINDOW,
                    Call.called_back.is_(False),
                )
                .values(called_back=True)
            )
        return
    number = call.from_e164
    if number is None:
        return  # a withheld number is neither a repeat nor owed a call-back
    start = call.started_at
    await session.execute(
        update(Call)
        .where(
            Call.from_e164 == number,
            Call.direction == Direction.IN,
            Call.started_at < start,
            Call.started_at >= start - REPEAT_WINDOW,
            Call.called_again.is_(False),
        )
        .values(called_again=True)
    )
    later_in = exists().where(
        Call.from_e164 == number,
        Call.direction == Direction.IN,
        Call.started_at > start,
        Call.started_at <= start + REPEAT_WINDOW,
    )
    later_out = exists().where(
        Call.to_e164 == number,
        Call.direction == Direction.OUT,
        Call.started_at > start,
        Call.started_at <= start + CALLBACK_WINDOW,
    )
    again, back = (await session.execute(select(later_in, later_out))).one()
    call.called_again = bool(call.called_again or again)
    call.called_back = bool(call.called_back or back)
