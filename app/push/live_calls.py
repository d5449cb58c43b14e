"""The latest envelope of every live call this process has seen: snapshots without a DB query.

Fed by every event the hub applies, whether published here or received from another instance.
The limit: a process knows only calls announced after it started (or republished by a peer when
it subscribed, see the hub); a single instance restarted mid-call forgets that call until its next
event. A DB-backed `SnapshotSource` can replace this one for snapshots without changing the hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.kit.lines import ALL_LINES
from app.push.envelopes import PushEvent
from app.push.event_types import EventType


@dataclass(slots=True)
class _LiveCall:
    event: PushEvent  # the newest event (highest seq)
    card: bytes | None  # the newest card any event carried
    envelope: bytes  # `event` serialised, as agents received it
    touched: float
    item: bytes | None = None  # snapshot item when `envelope` lacks the newest card; built lazily

    def snapshot_item(self) -> bytes:
        if self.event.card is not None or self.card is None:
            return self.envelope
        if self.item is None:
            self.item = self.event.envelope(card=self.card)
        return self.item


class LiveCalls:
    """Implements `SnapshotSource`. Also decides which events are new: an event whose `seq` is not
    above the newest one seen for its call is stale and is neither stored nor delivered."""

    def __init__(
        self,
        *,
        ended_retention_s: float = 30.0,
        max_age_s: float = 4 * 3600.0,
        ringing_max_age_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Ended calls stay a little while so that a late, older event cannot bring them back.
        self._ended_retention_s = ended_retention_s
        # A call whose end was never reported must not live for ever.
        self._max_age_s = max_age_s
        # Nor a call that rings for ever (its provider never said it ended): no phone rings that long.
        self._ringing_max_age_s = ringing_max_age_s
        self._clock = clock
        self._calls: dict[str, _LiveCall] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._calls)

    def next_seq(self, call_id: str) -> int:
        known = self._calls.get(call_id)
        return 1 if known is None else known.event.seq + 1

    def is_new(self, event: PushEvent) -> bool:
        known = self._calls.get(event.call_id)
        return known is None or event.seq > known.event.seq

    def record(self, event: PushEvent, envelope: bytes) -> None:
        """Store `event` (already checked with `is_new`) and the envelope built from it."""
        now = self._clock()
        self._sweep(now)
        known = self._calls.get(event.call_id)
        card = event.card if event.card is not None or known is None else known.card
        self._calls[event.call_id] = _LiveCall(event, card, envelope, now)

    def announcements(self) -> list[PushEvent]:
        """Every call held, ended ones included, as one event each carrying the newest card: what
        a peer needs to catch up."""
        self._sweep(self._clock())
        return [
            live.event if live.event.card is not None else replace(live.event, card=live.card)
            for live in self._calls.values()
        ]

    async def live_calls(self, lines: frozenset[str]) -> Sequence[bytes]:
        self._sweep(self._clock())
        every_line = ALL_LINES in lines
        return [
            live.snapshot_item()
            for live in self._calls.values()
            if live.event.type != EventType.CALL_ENDED and (every_line or live.event.line in lines)
        ]

    def _sweep(self, now: float) -> None:
        # At most once a second: the walk is over a few hundred calls at worst.
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        limits: dict[str, float] = {
            EventType.CALL_ENDED: self._ended_retention_s,
            EventType.CALL_RINGING: self._ringing_max_age_s,
        }
        max_age = self._max_age_s
        expired = [
            call_id
            for call_id, live in self._calls.items()
            if now - live.touched > limits.get(live.event.type, max_age)
        ]
        for call_id in expired:
            del self._calls[call_id]
