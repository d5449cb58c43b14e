"""One shape for every provider's call events: what the state machine and the log understand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from app.calls.contracts import Direction, Provider
from app.kit.lines import line_key
from app.kit.phones import NormalisedNumber, normalise
from app.stores.models import DEFAULT_STORE

# provider_events.event_key is String(255).
EVENT_KEY_MAX = 255
# calls.line is String(64).
LINE_MAX = 64
_KEPT_PREFIX = EVENT_KEY_MAX - 65  # room for "#" and a SHA-256 in hex


class CallState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"


ENDED_STATES = frozenset({CallState.COMPLETED, CallState.MISSED, CallState.BUSY, CallState.FAILED})
LIVE_STATES = frozenset({CallState.RINGING, CallState.ANSWERED})
# The end cause of a call Ringcard closed itself because its provider went quiet (a lost hang-up,
# a PBX that reports only the lookup): its end time is when it was last heard of, not measured.
NO_FINAL_EVENT = "no_final_event"


class EventKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CallEvent:
    provider: Provider
    provider_call_id: str
    kind: EventKind
    at: datetime
    direction: str = Direction.IN  # a Direction
    from_raw: str = ""
    to_raw: str = ""
    # The provider's own id of this event, so a redelivery is recognised; None when the provider
    # gives none (then the event's content is the key).
    event_key: str | None = None
    # For ENDED: how it ended, in the provider's words mapped to ours (None: decide from answered).
    ended_as: CallState | None = None
    end_cause: str | None = None
    # For ENDED: talk time the provider measured, when it says.
    duration_s: int | None = None
    answered_by: str | None = None
    # The PBX queue or dialled number the call came in on (defaults to `to_raw`).
    line: str | None = None
    # Providers that send caller digits with the country code but no "+".
    digits_carry_country_code: bool = False
    blocked: bool = False
    # Set on the ending Ringcard gives a call that went quiet (app/calls/timeouts.py): it applies
    # only to a live call unchanged since then, so a real event that got in first wins. Such an
    # event has no delivery to de-duplicate: the call's row lock and state decide.
    quiet_since: datetime | None = None

    def key(self) -> str:
        """The event's de-duplication key, at most `EVENT_KEY_MAX` characters."""
        if self.event_key:
            return fitted_key(self.event_key)
        return fitted_key(
            f"{self.provider_call_id}:{self.kind.value}:{self.ended_as or ''}:{self.answered_by or ''}"
        )


class Parties(NamedTuple):
    """Who calls, and on which line, as the event names them: normalised once, where the adapter
    hands the event to the intake (`parties_of`), and used from there on by the call's row, its
    card and its pop alike."""

    caller: NormalisedNumber  # `from_raw`, read with the provider's hint
    line: str  # the line key for the event's own direction; "" when the event names none
    store: str = DEFAULT_STORE  # the store whose line it is (app/stores): the call is logged under it


def parties_of(event: CallEvent, region: str, *, caller: NormalisedNumber | None = None) -> Parties:
    """`caller`: the event's `from_raw` as the adapter already normalised it for its own answer
    (with the same region and hint), so that it is not read twice."""
    if caller is None:
        caller = normalise(event.from_raw, region, digits_carry_country_code=event.digits_carry_country_code)
    return Parties(caller, line_of(event, region))


def line_of(event: CallEvent, region: str) -> str:
    """The line key of the event's own direction; "" when the event names none."""
    line_raw = event.line or (event.to_raw if event.direction == Direction.IN else event.from_raw)
    return line_key(line_raw, region)[:LINE_MAX] if line_raw else ""


def fitted_key(key: str) -> str:
    """`key` itself when it fits provider_events.event_key, else its start and a SHA-256 of all of it.

    Cutting a long key would make different events of one call (a 255-character call id followed
    by `:answered` or `:ended`) the same key, and all but the first would be dropped as
    duplicates. The digest keeps them apart; short keys, the only ones providers really send,
    stay readable and unchanged.
    """
    if len(key) <= EVENT_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[:_KEPT_PREFIX]}#{digest}"
