"""The console spells the push channel's names as the server does: js/events.js is written from
app/push/event_types.py, and no other script spells one of those names itself."""

from __future__ import annotations

import re

from app.console.events_js import EVENTS_JS, render
from app.console.routes import STATIC_DIR
from app.push.event_types import EventType, FrameType

REWRITE = "write it again with `.venv/bin/python -m app.console.events_js` and commit it"


def test_events_js_is_what_the_enums_say() -> None:
    assert EVENTS_JS.read_text(encoding="utf-8") == render(), f"js/events.js is stale: {REWRITE}"


def test_the_generated_module_names_every_member() -> None:
    text = render()
    for enum in (EventType, FrameType):
        assert f"export const {enum.__name__} = Object.freeze({{" in text
        for member in enum:
            assert f'  {member.name}: "{member.value}",\n' in text


def test_no_other_script_spells_a_name_of_its_own() -> None:
    names = [member.value for enum in (EventType, FrameType) for member in enum]
    quoted = re.compile("[\"'`](" + "|".join(re.escape(name) for name in names) + ")[\"'`]")
    offenders = [
        f"{path.relative_to(STATIC_DIR)}:{number}: {line.strip()}"
        for path in sorted(STATIC_DIR.rglob("*.js"))
        if path != EVENTS_JS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if quoted.search(line)
    ]
    assert not offenders, "import the name from js/events.js instead:\n" + "\n".join(offenders)
