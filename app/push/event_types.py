"""The names on the push channel, in one place: the server's and the console's (`js/events.js` is
written from this module by `python -m app.console.events_js`, and a test fails when it differs).

Both enums are `StrEnum`s, so a member is the very string that travels: it compares, hashes and
serialises (orjson) as its value, and code that still holds a plain string keeps working.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import Final


@unique
class EventType(StrEnum):
    """What happened to a call: the `type` of an envelope (API.md §3)."""

    CALL_RINGING = "call.ringing"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"
    CARD_UPDATED = "card.updated"


@unique
class FrameType(StrEnum):
    """The `type` of the socket's other messages: the console sends `auth` and `ping`, the server
    answers `snapshot` (the live calls, after `auth`) and `pong`."""

    AUTH = "auth"
    PING = "ping"
    PONG = "pong"
    SNAPSHOT = "snapshot"


# Python 3.11 answers `"call.ended" in EventType` with a DeprecationWarning and a TypeError for a
# plain string (3.12 changes the rule): this set answers membership for any string on both.
EVENT_TYPES: Final = frozenset(EventType)
