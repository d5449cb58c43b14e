"""The call state machine, shared by every provider: ringing → answered → completed, or
ringing → missed / busy / failed. It only moves forward, so duplicates and late events are no-ops
and events in any order end in the latest real state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.calls.contracts import Direction
from app.calls.events import ENDED_STATES, NO_FINAL_EVENT, CallEvent, CallState, EventKind

_RANK = {CallState.RINGING: 0, CallState.ANSWERED: 1}
VOICEMAIL = "voicemail"
# A call the PBX passed on elsewhere was not missed by us.
FORWARDED = "forwarded"


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the log knows about a call, before and after an event."""

    state: CallState
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by: str | None = None
    end_cause: str | None = None
    talking_s: int | None = None
    direction: str = Direction.IN

    @property
    def waiting_s(self) -> int | None:
        if self.answered_at is None:
            if self.ended_at is not None and self.state is CallState.MISSED:
                return _seconds(self.ended_at - self.started_at)
            return None
        return _seconds(self.answered_at - self.started_at)


def _seconds(delta: timedelta) -> int:
    return max(int(round(delta.total_seconds())), 0)


def _rank(state: CallState) -> int:
    return 2 if state in ENDED_STATES else _RANK[state]


def _answer_delivered_after_its_hangup(facts: CallFacts, event: CallEvent) -> bool:
    """A hang-up that names no cause ended the call as missed only because no answer was known.
    An answer that happened before that hang-up (by the provider's own clock: Telnyx delivers out
    of order) completes the call; one that happened after it changes nothing."""
    return (
        facts.state is CallState.MISSED
        and facts.end_cause is None
        and facts.ended_at is not None
        and event.at < facts.ended_at
    )


def first_facts(event: CallEvent) -> CallFacts:
    """A call the log has not seen: created from whatever event came first (the `newCall` or
    `ringing` may be late or lost)."""
    facts = CallFacts(state=CallState.RINGING, started_at=event.at, direction=event.direction)
    return advance(facts, event) or facts


def _voicemail_answered(event: CallEvent) -> bool:
    return event.kind is EventKind.ANSWERED and (event.answered_by or "").strip().lower() == VOICEMAIL


def _learns_who_answered(facts: CallFacts, event: CallEvent) -> bool:
    """A call that ended before its answer was heard of (Twilio's parent and leg callbacks race)
    learns who answered from the late answer, or from the answering leg's own end."""
    return facts.state is CallState.COMPLETED and facts.answered_by is None and bool(event.answered_by)


def _answered_by(facts: CallFacts, who: str, picked_up: datetime) -> CallFacts:
    """`facts` with who answered and when, by the answer's own clock: better than the time the
    end's duration implied, which counts from when the end was delivered."""
    assert facts.ended_at is not None
    at = min(max(picked_up, facts.started_at), facts.ended_at)
    return replace(facts, answered_by=who, answered_at=at)


def _closed_for_quiet(facts: CallFacts) -> bool:
    return facts.state in ENDED_STATES and facts.end_cause == NO_FINAL_EVENT


def _before_closing(facts: CallFacts) -> CallFacts:
    """The call as it was when Ringcard closed it for going quiet."""
    return replace(
        facts,
        state=CallState.ANSWERED if facts.answered_at is not None else CallState.RINGING,
        ended_at=None,
        end_cause=None,
        talking_s=None,
    )


def advance(facts: CallFacts, event: CallEvent) -> CallFacts | None:
    """The call after the event, or None when the event changes nothing."""
    if (
        _closed_for_quiet(facts)
        and event.kind is not EventKind.RINGING
        and event.end_cause != NO_FINAL_EVENT
        and not _voicemail_answered(event)
    ):
        # The provider speaks again after Ringcard gave up on the call: what it says is real,
        # the closing was a guess. The call goes on from where it was before.
        return advance(_before_closing(facts), event)
    if event.kind is EventKind.RINGING:
        # A late ringing may still tell us when the call really started.
        if event.at < facts.started_at:
            return replace(facts, started_at=event.at)
        return None
    if _voicemail_answered(event):
        # Voicemail picking up is no answer: someone must still call back, so the call will end
        # as missed; remember why.
        if facts.state is CallState.RINGING and facts.end_cause != VOICEMAIL:
            return replace(facts, end_cause=VOICEMAIL)
        return None
    if event.kind is EventKind.ANSWERED:
        if _rank(facts.state) >= 1:
            # Already answered or ended: an answer after the hang-up changes nothing, but an
            # ended call that never heard of its answer learns who took it.
            if _learns_who_answered(facts, event):
                assert event.answered_by is not None
                return _answered_by(facts, event.answered_by, event.at)
            if _answer_delivered_after_its_hangup(facts, event):
                picked_up = max(event.at, facts.started_at)
                assert facts.ended_at is not None
                return replace(
                    facts,
                    state=CallState.COMPLETED,
                    answered_at=picked_up,
                    answered_by=event.answered_by,
                    talking_s=_seconds(facts.ended_at - picked_up),
                )
            return None
        return replace(
            facts,
            state=CallState.ANSWERED,
            answered_at=max(event.at, facts.started_at),
            answered_by=event.answered_by,
        )
    if facts.state in ENDED_STATES:
        if _learns_who_answered(facts, event) and event.duration_s:
            # The answering leg's own end: its talk time dates the answer.
            assert event.answered_by is not None
            return _answered_by(facts, event.answered_by, event.at - timedelta(seconds=event.duration_s))
        return None
    answered = facts.state is CallState.ANSWERED or (event.duration_s or 0) > 0
    ended_as = event.ended_as
    forwarded = event.end_cause == FORWARDED
    if ended_as is None or (ended_as is CallState.COMPLETED and not answered and not forwarded):
        ended_as = CallState.COMPLETED if answered or forwarded else CallState.MISSED
    answered_at = facts.answered_at
    if ended_as is CallState.COMPLETED and answered_at is None and event.duration_s:
        answered_at = max(event.at - timedelta(seconds=event.duration_s), facts.started_at)
    talking = event.duration_s
    # A call closed for going quiet has no measured end: its talking time is unknown, not zero.
    measured = event.end_cause != NO_FINAL_EVENT
    if talking is None and measured and answered_at is not None and ended_as is CallState.COMPLETED:
        talking = _seconds(event.at - answered_at)
    return replace(
        facts,
        state=ended_as,
        ended_at=max(event.at, facts.started_at),
        answered_at=answered_at,
        talking_s=talking if ended_as is CallState.COMPLETED else None,
        end_cause=event.end_cause or facts.end_cause,
        # Someone named on the end of a call nobody answered (a PBX's last-dialled extension)
        # did not take it.
        answered_by=facts.answered_by or (event.answered_by if ended_as is CallState.COMPLETED else None),
    )
