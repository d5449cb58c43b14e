"""Lines: the dialled number or PBX queue a call arrives on, in one comparable form."""

from __future__ import annotations

from app.kit.phones import NumberKind, normalise

ALL_LINES = "*"


def line_key(line: str, region: str) -> str:
    """Dialled numbers compare after normalisation (`+48 22 123 45 67` is `+48221234567`); queue
    names compare as written, without surrounding spaces."""
    text = line.strip()
    if text == ALL_LINES:
        return ALL_LINES
    number = normalise(text, region)
    if number.kind is NumberKind.E164 and number.e164 is not None:
        return number.e164
    return text
