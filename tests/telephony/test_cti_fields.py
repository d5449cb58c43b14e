"""Whatever value a PBX puts in any generic CTI field, as JSON (of any content type) or as a form,
Ringcard answers 2xx or 4xx, never 5xx, and a call it acknowledged is in the call log. The app and
the value strategies are those of test_provider_fields.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.calls.identity import call_id_for
from tests.telephony.test_provider_fields import (
    CONTENT_TYPES,
    CTI_TOKEN,
    FIELD_EXAMPLES,
    JSON_VALUES,
    MISSING,
    TEXT_VALUES,
    Harness,
    _put,
    assert_answered_calmly,
    cti_fields,
    running,
)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running(database_url) as started:
        yield started


CTI_FIELDS = [
    "event",
    "direction",
    "callId",
    "call_id",
    "from",
    "to",
    "user",
    "queue",
    "answeringNumber",
    "cause",
]


def _as_text(value: object) -> list[str]:
    """What the CTI endpoint reads from a JSON value (its own rule, restated for the test)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [text for item in value for text in _as_text(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def cti_call_id(body: dict[str, Any]) -> str:
    for name in ("callId", "call_id"):
        for text in _as_text(body.get(name)):
            if text.strip():
                return text.strip()
    raise AssertionError(f"a CTI request without a call id was accepted: {body!r}")


@FIELD_EXAMPLES
@given(
    event=st.sampled_from(["newCall", "answer", "hangup"]),
    direction=st.sampled_from(["in", "out"]),
    as_json=st.booleans(),
    content_type=CONTENT_TYPES,
    json_values=st.dictionaries(
        st.sampled_from(CTI_FIELDS), st.one_of(st.just(MISSING), JSON_VALUES), max_size=4
    ),
    form_values=st.dictionaries(
        st.sampled_from(CTI_FIELDS), st.one_of(TEXT_VALUES, st.lists(TEXT_VALUES, max_size=3)), max_size=4
    ),
)
@example(
    content_type="application/json",
    event="newCall",
    direction="in",
    as_json=True,
    json_values={"callId": "p" * 300},
    form_values={},
)
@example(
    content_type="application/json",
    event="answer",
    direction="in",
    as_json=True,
    json_values={"user": ["u" * 300] * 3},
    form_values={},
)
@example(
    content_type="application/json",
    event="hangup",
    direction="in",
    as_json=True,
    json_values={"cause": "c" * 300},
    form_values={},
)
@example(
    content_type="application/json",
    event="newCall",
    direction="out",
    as_json=True,
    json_values={"to": {"n": 1}},
    form_values={},
)
@example(
    content_type="application/json",
    event="newCall",
    direction="in",
    as_json=True,
    json_values={"callId": 2**70},
    form_values={},
)
@example(
    content_type="application/json",
    event="newCall",
    direction="in",
    as_json=False,
    json_values={},
    form_values={"queue": "q" * 300},
)
@example(
    content_type="text/plain",
    event="newCall",
    direction="in",
    as_json=True,
    json_values={"from": "\x00"},
    form_values={},
)
@example(
    content_type="",
    event="newCall",
    direction="in",
    as_json=True,
    json_values={"callId": "\ud800"},
    form_values={},
)
async def test_any_cti_field_value_answers_2xx_or_4xx_and_a_2xx_is_logged(
    harness: Harness,
    event: str,
    direction: str,
    as_json: bool,
    content_type: str,
    json_values: dict[str, object],
    form_values: dict[str, str | list[str]],
) -> None:
    body = cti_fields(event, direction)
    url = f"/webhooks/cti/{CTI_TOKEN}"
    if as_json:
        for name, value in json_values.items():
            _put(body, (name,), value)
        # ASCII escapes: a lone surrogate (\ud800) can only travel escaped.
        raw = json.dumps(body).encode()
        answer = await harness.http.post(url, content=raw, headers={"content-type": content_type})
    else:
        body.update(form_values)
        answer = await harness.http.post(url, data=body)
    assert_answered_calmly(answer)
    if answer.is_success:
        assert call_id_for("cti", cti_call_id(body)) in await harness.logged_call_ids()


async def test_cti_numbers_are_kept_as_written(harness: Harness) -> None:
    # Read as floats, these two ids would both be 1.2345678901234568e+22: one call.
    url = f"/webhooks/cti/{CTI_TOKEN}"
    ids = ("12345678901234567890123", "12345678901234567890124")
    for call_id in ids:
        raw = json.dumps({**cti_fields("newCall", "in"), "callId": "@"}).replace('"@"', call_id)
        answer = await harness.http.post(url, content=raw, headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
    assert {call_id_for("cti", call_id) for call_id in ids} <= await harness.logged_call_ids()
