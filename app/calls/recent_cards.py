"""The cards this process built lately, by call id: an answer or hang-up recorded before the
card's save reached the log still goes out with the card the ringing popped with."""

from __future__ import annotations

from collections import OrderedDict

CARDS_KEPT = 2000


class RecentCards:
    def __init__(self, size: int = CARDS_KEPT) -> None:
        self._size = size
        self._cards: OrderedDict[str, bytes] = OrderedDict()

    def get(self, call_id: str) -> bytes | None:
        return self._cards.get(call_id)

    def remember(self, call_id: str, card: bytes) -> None:
        self._cards[call_id] = card
        while len(self._cards) > self._size:
            self._cards.popitem(last=False)
