"""Whatever value a provider puts in any field it signs, Ringcard answers 2xx or 4xx, never 5xx; and
a call it acknowledged is in the call log (a 2xx that lost the call would make the provider stop
retrying it).

Twilio requests are signed with the `twilio` package's RequestValidator, Telnyx events with a real
Ed25519 key, CTI and PBX requests carry the right token: only the field values vary.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given
from hypothesis import event as tally
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from app.calls.events import EVENT_KEY_MAX, CallEvent, EventKind, fitted_key
from app.calls.identity import call_id_for
from app.calls.models import Call, ProviderEvent
from app.db import table_of
from app.main import create_app
from app.telephony.fields import MAX_CALL_ID, believable_time, whole_number
from tests.conftest import make_settings
from tests.fixtures.push_harness import create_agent

TWILIO_TOKEN = "twilio-auth-token-for-field-tests"
CTI_TOKEN = "cti-token-for-field-tests-0123456789"
TELNYX_KEY = Ed25519PrivateKey.generate()
TELNYX_PUBLIC_KEY = base64.b64encode(
    TELNYX_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()
BASE = "http://testserver"
LINE = "+48221234567"
CALLER = "+48601234567"

# The database is shared by a test's examples (emptied only between tests), and the app runs
# in-process: a few dozen examples per provider keep the suite fast on both databases.
# database=None: the example database would write .hypothesis/ into a shared working tree.
FIELD_EXAMPLES = hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial):08d}"


# --- values ------------------------------------------------------------------------------------

# Long values cost little to build this way and cross every column's 255 characters.
LONG_TEXT = st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=3), st.integers(60, 400)
)
AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "²",  # str.isdigit() is True, int() refuses it
        "١٢",  # Arabic-Indic digits: int() reads them, Twilio never sends them
        "9" * 40,
        "9" * 5000,  # more digits than int() converts
        "-1",
        "+5",
        "1.5",
        "1_000",
        "0x10",
        "\u00a0",
        "\u200e+48 601 234 567",
        "Mon, 01 Jan 0001 00:00:00 +1400",  # no UTC form
        "Fri, 31 Dec 9999 23:59:59 -1400",
        "Mon, 23 Nov 2026 10:00:47 +9999",
        "Thu, 01 Jan 1970 00:00:00 +0000",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "inbound",
        "outbound-dial",
        "incoming",
        "completed",
        "in-progress",
        "anonymous",
        "client:alice",
        "sip:+48601234567@pbx.example",
    ]
)
TEXT_VALUES = st.one_of(st.text(max_size=30), LONG_TEXT, AWKWARD)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT_VALUES,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
MISSING = object()


# --- the app -------------------------------------------------------------------------------------


@dataclass
class Harness:
    app: FastAPI
    http: httpx.AsyncClient
    agent: dict[str, str]

    async def logged_call_ids(self) -> set[str]:
        await self.app.state.intake.drain()
        answer = await self.http.get("/api/v1/calls", params={"limit": 500}, headers=self.agent)
        assert answer.status_code == 200, answer.text
        return {call["id"] for call in answer.json()}


@asynccontextmanager
async def running(database_url: str) -> AsyncIterator[Harness]:
    """The app with every provider switched on, in-process, and a signed-in agent of every line."""
    settings = make_settings(
        database_url,
        twilio_auth_token=TWILIO_TOKEN,
        telnyx_public_key=TELNYX_PUBLIC_KEY,
        cti_token=CTI_TOKEN,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http,
    ):
        token = await create_agent(http, "ola", ["*"])
        yield Harness(app, http, {"Authorization": f"Bearer {token}"})


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running(database_url) as started:
        yield started


def assert_answered_calmly(answer: httpx.Response) -> None:
    tally(f"status {answer.status_code}")  # --hypothesis-show-statistics: how often each answer came
    assert answer.status_code < 500, answer.text
    # Every request here is signed or carries the right token, whatever its values: a 401 would
    # mean a value broke the signature check.
    assert answer.status_code not in (401, 404), answer.text


# --- Twilio --------------------------------------------------------------------------------------

TWILIO_FIELDS = [
    "CallSid",
    "From",
    "To",
    "Caller",
    "Called",
    "Direction",
    "CallStatus",
    "SequenceNumber",
    "Timestamp",
    "CallDuration",
    "AccountSid",
    "ForwardedFrom",
]
CALL_STATUSES = ["queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer"]


def twilio_params(call_sid: str, call_status: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": LINE,
        "Caller": CALLER,
        "Called": LINE,
        "CallStatus": call_status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "SequenceNumber": "1",
        "Timestamp": "Mon, 23 Nov 2026 10:00:47 +0000",
        "CallDuration": "42",
    }


@FIELD_EXAMPLES
@given(
    path=st.sampled_from(["/webhooks/twilio/voice", "/webhooks/twilio/status"]),
    call_status=st.sampled_from(CALL_STATUSES),
    values=st.dictionaries(st.sampled_from(TWILIO_FIELDS), TEXT_VALUES, max_size=4),
)
@example(path="/webhooks/twilio/status", call_status="completed", values={"CallDuration": "²"})
@example(path="/webhooks/twilio/status", call_status="completed", values={"CallDuration": "9" * 40})
@example(path="/webhooks/twilio/status", call_status="completed", values={"CallDuration": "9" * 5000})
@example(path="/webhooks/twilio/status", call_status="ringing", values={"SequenceNumber": "²"})
@example(path="/webhooks/twilio/voice", call_status="ringing", values={"CallSid": "CA" + "1" * 300})
@example(path="/webhooks/twilio/status", call_status="completed", values={"CallSid": "CA" + "2" * 300})
@example(path="/webhooks/twilio/status", call_status="ringing", values={"CallSid": "CA" + "3" * 253})
@example(
    path="/webhooks/twilio/status",
    call_status="ringing",
    values={"Timestamp": "Mon, 01 Jan 0001 00:00:00 +1400"},
)
@example(path="/webhooks/twilio/voice", call_status="ringing", values={"From": "+48" * 200, "To": "x" * 300})
async def test_any_twilio_field_value_answers_2xx_or_4xx_and_a_2xx_is_logged(
    harness: Harness, path: str, call_status: str, values: dict[str, str]
) -> None:
    params = {**twilio_params(unique("CA"), call_status), **values}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{BASE}{path}", params)
    answer = await harness.http.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert_answered_calmly(answer)
    if answer.is_success:
        assert call_id_for("twilio", params["CallSid"].strip()) in await harness.logged_call_ids()


async def test_twilio_refusals_name_the_field(harness: Harness) -> None:
    cases = {
        "CallDuration": "²",
        "SequenceNumber": "٣",
        "CallSid": "CA" + "4" * MAX_CALL_ID,
    }
    for name, value in cases.items():
        params = {**twilio_params(unique("CA"), "completed"), name: value}
        url = f"{BASE}/webhooks/twilio/status"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        answer = await harness.http.post(
            "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 422, (name, answer.text)
        assert name in answer.json()["detail"]


async def test_a_nul_in_a_multipart_twilio_form_is_a_422(harness: Harness) -> None:
    # Twilio posts urlencoded forms, which StorableTextMiddleware reads; a multipart one it does not.
    params = {**twilio_params(unique("CA"), "ringing"), "From": "+48\x00601"}
    url = f"{BASE}/webhooks/twilio/status"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    answer = await harness.http.post(
        "/webhooks/twilio/status",
        data=params,
        files={"Media": ("m.txt", b"x", "text/plain")},
        headers={"X-Twilio-Signature": signature},
    )
    assert answer.status_code == 422 and "From" in answer.json()["detail"]


# --- Telnyx --------------------------------------------------------------------------------------

TELNYX_FIELDS: list[tuple[str, ...]] = [
    ("data",),
    ("data", "event_type"),
    ("data", "id"),
    ("data", "occurred_at"),
    ("data", "payload"),
    ("data", "payload", "call_control_id"),
    ("data", "payload", "direction"),
    ("data", "payload", "from"),
    ("data", "payload", "to"),
    ("data", "payload", "hangup_cause"),
    ("data", "payload", "state"),
    ("meta",),
]
TELNYX_TYPES = ["call.initiated", "call.answered", "call.hangup", "call.bridged"]
FOLLOWED = ("call.initiated", "call.answered", "call.hangup")


def telnyx_event(event_type: str) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=30)
    return {
        "data": {
            "record_type": "event",
            "event_type": event_type,
            "id": unique("ev-"),
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "payload": {
                "call_control_id": unique("v3:"),
                "from": CALLER,
                "to": LINE,
                "direction": "incoming",
                "state": "parked",
                "hangup_cause": "normal_clearing",
            },
        },
        "meta": {"attempt": 1},
    }


def _put(document: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    """Set (or, for MISSING, remove) `path` in `document`, where the path still leads somewhere."""
    target: Any = document
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        return
    if value is MISSING:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


def _at(document: Any, *path: str) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


# StorableTextMiddleware reads bodies declared as JSON; the routes themselves must cope with the rest.
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", ""])


@FIELD_EXAMPLES
@given(
    event_type=st.sampled_from(TELNYX_TYPES),
    content_type=CONTENT_TYPES,
    values=st.dictionaries(
        st.sampled_from(TELNYX_FIELDS), st.one_of(st.just(MISSING), JSON_VALUES), max_size=4
    ),
)
@example(
    content_type="application/json",
    event_type="call.initiated",
    values={("data", "payload", "call_control_id"): "v3:" + "5" * 300},
)
@example(content_type="application/json", event_type="call.hangup", values={("data", "id"): "e" * 300})
@example(
    content_type="application/json",
    event_type="call.answered",
    values={("data", "occurred_at"): "0001-01-01T00:00:00+14:00"},
)
@example(
    content_type="application/json",
    event_type="call.answered",
    values={("data", "occurred_at"): "1900-01-01T00:00:00Z"},
)
@example(
    content_type="application/json",
    event_type="call.initiated",
    values={("data", "payload", "from"): 48601234567},
)
@example(
    content_type="application/json",
    event_type="call.initiated",
    values={("data", "payload", "to"): {"number": LINE}},
)
@example(
    content_type="application/json",
    event_type="call.initiated",
    values={("data", "payload", "call_control_id"): 2**70},
)
@example(
    content_type="application/json",
    event_type="call.hangup",
    values={("data", "payload", "hangup_cause"): "x" * 300},
)
@example(
    content_type="application/json",
    event_type="call.initiated",
    values={("data", "payload", "from"): "+48" * 300},
)
@example(
    content_type="text/plain", event_type="call.initiated", values={("data", "payload", "from"): "+48\x00"}
)
async def test_any_telnyx_field_value_answers_2xx_or_4xx_and_a_2xx_is_logged(
    harness: Harness, event_type: str, content_type: str, values: dict[tuple[str, ...], object]
) -> None:
    body = telnyx_event(event_type)
    for path, value in values.items():
        _put(body, path, value)
    # The standard library writes integers of any size, which Telnyx's parser (and ours) may not take.
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + raw)).decode(),
        "telnyx-timestamp": stamp,
        "content-type": content_type,
    }
    answer = await harness.http.post("/webhooks/telnyx", content=raw, headers=headers)
    assert_answered_calmly(answer)
    call_control_id = _at(body, "data", "payload", "call_control_id")
    if answer.is_success and _at(body, "data", "event_type") in FOLLOWED:
        assert isinstance(call_control_id, str)
        assert call_id_for("telnyx", call_control_id.strip()) in await harness.logged_call_ids()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("data", "payload", "call_control_id"), "v3:" + "6" * MAX_CALL_ID, "data.payload.call_control_id"),
        (("data", "occurred_at"), "2000-01-01T00:00:00Z", "data.occurred_at"),
        (("data", "occurred_at"), "0001-01-01T00:00:00+14:00", "data.occurred_at"),
        (("data", "payload", "from"), 48601234567, "data.payload.from"),
        (("data", "payload", "call_control_id"), " ", "data.payload.call_control_id"),
    ],
)
async def test_telnyx_refusals_name_the_field(
    harness: Harness, path: tuple[str, ...], value: object, named: str
) -> None:
    body = telnyx_event("call.initiated")
    _put(body, path, value)
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + raw)).decode(),
        "telnyx-timestamp": stamp,
    }
    answer = await harness.http.post("/webhooks/telnyx", content=raw, headers=headers)
    assert answer.status_code == 422 and named in answer.json()["detail"], answer.text


# --- generic CTI ---------------------------------------------------------------------------------


def cti_fields(event: str, direction: str) -> dict[str, Any]:
    caller, called = (CALLER, LINE) if direction == "in" else ("201", CALLER)
    return {"event": event, "direction": direction, "callId": unique("pbx-"), "from": caller, "to": called}


async def test_events_of_a_call_with_a_255_character_id_are_not_taken_for_duplicates(
    harness: Harness,
) -> None:
    call_id = "p" * MAX_CALL_ID
    url = f"/webhooks/cti/{CTI_TOKEN}"
    for event in ("newCall", "answer", "hangup"):
        answer = await harness.http.post(
            url, json={**cti_fields(event, "in"), "callId": call_id, "user": "ola"}
        )
        assert answer.status_code == 200, answer.text
    await harness.app.state.intake.drain()
    [call] = (await harness.http.get("/api/v1/calls", headers=harness.agent)).json()
    # Cut to 255 characters, the three event keys were one: answer and hang-up were dropped.
    assert (call["state"], call["answered_by"]) == ("completed", "ola")


# --- PBX lookups -----------------------------------------------------------------------------------

PBX_PARAMS = ["number", "to", "call_id", "ascii", "max_length"]


@FIELD_EXAMPLES
@given(values=st.dictionaries(st.sampled_from(PBX_PARAMS), TEXT_VALUES, max_size=4))
@example(values={"number": CALLER, "max_length": "9" * 5000})
@example(values={"number": CALLER, "max_length": "²"})
@example(values={"number": CALLER, "call_id": "c" * 300})
@example(values={"number": "+48" * 300, "call_id": "c-long-number", "to": "t" * 300})
async def test_any_pbx_lookup_value_answers_2xx_or_4xx_and_a_popped_call_is_logged(
    harness: Harness, values: dict[str, str]
) -> None:
    params = {"number": CALLER, "token": CTI_TOKEN, **values}
    answer = await harness.http.get("/pbx/lookup", params=params)
    assert_answered_calmly(answer)
    call_id = params.get("call_id", "").strip()
    if answer.is_success and call_id:
        assert call_id_for("pbx", call_id) in await harness.logged_call_ids()


@FIELD_EXAMPLES
@given(phone=TEXT_VALUES)
async def test_any_3cx_phone_answers_2xx_or_4xx(harness: Harness, phone: str) -> None:
    answer = await harness.http.get(
        "/integrations/3cx/contacts",
        params={"phone": phone},
        headers={"Authorization": f"Bearer {CTI_TOKEN}"},
    )
    assert_answered_calmly(answer)


# --- the rules themselves ------------------------------------------------------------------------


def test_the_limits_match_the_columns() -> None:
    assert table_of(Call).c.provider_call_id.type.length == MAX_CALL_ID
    assert table_of(ProviderEvent).c.event_key.type.length == EVENT_KEY_MAX


@given(st.text(max_size=600), st.text(max_size=600))
def test_fitted_keys_fit_and_keep_different_keys_apart(first: str, second: str) -> None:
    assert len(fitted_key(first)) <= EVENT_KEY_MAX
    assert (fitted_key(first) == fitted_key(second)) is (first == second)
    if len(first) <= EVENT_KEY_MAX:
        assert fitted_key(first) == first


def test_long_call_ids_give_each_event_its_own_key() -> None:
    now = datetime.now(UTC)
    keys = {
        CallEvent(provider="cti", provider_call_id="p" * MAX_CALL_ID, kind=kind, at=now).key()
        for kind in EventKind
    }
    assert len(keys) == len(EventKind)


@pytest.mark.parametrize(
    ("text", "maximum", "value"),
    [
        ("42", 100, 42),
        (" 7 ", 100, 7),
        ("0", 0, 0),
        ("101", 100, None),
        ("²", 100, None),
        ("١٢", 100, None),
        ("-1", 100, None),
        ("+1", 100, None),
        ("1.0", 100, None),
        ("", 100, None),
        ("9" * 5000, 100, None),
    ],
)
def test_whole_numbers_are_ascii_digits_within_bounds(text: str, maximum: int, value: int | None) -> None:
    assert whole_number(text, maximum) == value


def test_times_far_from_now_are_not_believed() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert believable_time(datetime(2026, 5, 31, 22, tzinfo=UTC), now) == datetime(
        2026, 5, 31, 22, tzinfo=UTC
    )
    assert believable_time(datetime(2026, 5, 31, 22), now) == datetime(2026, 5, 31, 22, tzinfo=UTC)
    assert believable_time(datetime(1900, 1, 1, tzinfo=UTC), now) is None
    assert believable_time(datetime.fromisoformat("0001-01-01T00:00:00+14:00"), now) is None
