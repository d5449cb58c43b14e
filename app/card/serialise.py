"""Cards are serialised once; the same bytes go to every agent (and into envelopes)."""

from __future__ import annotations

from typing import Any

import orjson


def card_bytes(card: dict[str, Any]) -> bytes:
    return orjson.dumps(card)
