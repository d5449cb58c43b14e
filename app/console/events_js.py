"""The console's `static/js/events.js`, written from the server's names (app/push/event_types.py).

The console has no build step and serves its files as they are (see routes.py), so this module is
generated once and committed rather than served from the enums at request time: it is then one
more static file, under the same version hash, year-long cache and `script-src 'self'` as the
others, and the bundle needs no special case. tests/console/test_events_js.py fails when the file
and the enums part; to write it again:

    .venv/bin/python -m app.console.events_js
"""

from __future__ import annotations

import inspect
import json
from enum import StrEnum
from pathlib import Path
from typing import Final

from app.push.event_types import EventType, FrameType

EVENTS_JS: Final = Path(__file__).parent / "static" / "js" / "events.js"
_ENUMS: Final[tuple[type[StrEnum], ...]] = (EventType, FrameType)

_HEADER: Final = """\
// Generated from app/push/event_types.py by `python -m app.console.events_js`: do not edit.
// The names on the push channel, spelled exactly as the server sends and reads them.
"""


def _js_enum(enum: type[StrEnum]) -> str:
    doc = (inspect.getdoc(enum) or enum.__name__).splitlines()
    # JSDoc as prettier leaves it: one line when it fits on one, else a star per line.
    if len(doc) == 1:
        comment = f"/** {doc[0]} */"
    else:
        comment = "/**\n" + "".join(f" * {line}\n" for line in doc) + " */"
    members = "".join(f"  {member.name}: {json.dumps(member.value)},\n" for member in enum)
    return f"{comment}\nexport const {enum.__name__} = Object.freeze({{\n{members}}});\n"


def render() -> str:
    """The whole of js/events.js, as it must be committed."""
    return _HEADER + "".join("\n" + _js_enum(enum) for enum in _ENUMS)


def write(path: Path = EVENTS_JS) -> bool:
    """Write the file when it differs; True when it did."""
    text = render()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":
    print(f"{EVENTS_JS}: {'written' if write() else 'already current'}")
