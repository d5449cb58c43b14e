"""Where the hub gets the snapshot an agent receives on connect and after a broker reconnect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SnapshotSource(Protocol):
    async def live_calls(self, lines: frozenset[str]) -> Sequence[bytes]:
        """The calls now ringing or in progress on these line keys ("*" among them: every line).

        Each item is one serialised JSON object shaped like an envelope (`type`, `call_id`, `seq`,
        `at`, `call`, `card`) carrying the call's latest state and its latest card. The hub holds
        back envelopes for the connection while this runs and sends them after the snapshot, so
        an implementation may take its time (a database query) without reordering anything.
        """
        ...
