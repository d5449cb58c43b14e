"""Cards are serialised once; the same bytes go to every agent (and into envelopes)."""

from __future__ import annotations

import orjson

from app.card.contracts import Card


def card_bytes(card: Card) -> bytes:
    return orjson.dumps(card)
