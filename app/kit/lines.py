"""Lines: the dialled number or PBX queue a call arrives on, in one comparable form."""

from __future__ import annotations

from app.kit.phones import NumberKind, normalise

ALL_LINES = "*"
# An agent's line written `store:<id>` is every line of that store (docs/stores.md).
STORE_LINES_PREFIX = "store:"


def stores_of_lines(lines: list[str] | frozenset[str]) -> set[str]:
    """The ids of the stores whose lines an agent takes all of (`store:<id>` entries)."""
    return {
        line.strip()[len(STORE_LINES_PREFIX) :]
        for line in lines
        if line.strip().startswith(STORE_LINES_PREFIX)
    }


def line_key(line: str, region: str) -> str:
    """Dialled numbers compare after normalisation (`+48 22 123 45 67` is `+48221234567`); queue
    names compare as written, without surrounding spaces."""
    text = line.strip()
    if text == ALL_LINES or text.startswith(STORE_LINES_PREFIX):
        return text
    number = normalise(text, region)
    if number.kind is NumberKind.E164 and number.e164 is not None:
        return number.e164
    return text
