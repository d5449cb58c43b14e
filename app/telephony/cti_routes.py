"""The generic CTI protocol (the one Zammad defined, CTI.md): `POST /webhooks/cti/{token}`, one
request per call event, form fields or a JSON object.

Decisions beyond CTI.md:

* **Times** are when Ringcard receives each event (the protocol carries none), read from the app's
  clock (`Clock` in app/deps.py, Unix seconds), so waiting and talking times are measured here.
* **Duplicates** are recognised by (callId, event, outcome): a repeated `newCall` is the same
  event and changes nothing, as does a late one after the call was answered or ended.
* **Blocked callers** (RINGCARD_CTI_BLOCKED_NUMBERS, compared after normalisation; an entry that
  is itself a withheld word such as `anonymous` blocks every withheld caller): the PBX is told
  to reject with busy, and the call is logged at once as ended `busy` with `end_cause` `blocked`
  and `blocked` true. Nothing is pushed: no agent's phone rang, and a card would only invite a
  call back to a number the operator chose to refuse. Being ended already, it never shows as
  live, and the PBX's own hang-up for it changes nothing.
* **Outbound calls** are logged (direction `out`, the line being the `queue` or else `from`, the
  agent's extension) but never popped: the agent who dials knows whom they are calling.
* **Outbound routing** (RINGCARD_CTI_OUTBOUND_ROUTES, `pattern=caller_id`): patterns are digits
  with `*` for any run of digits (also none); a pattern matches when it covers the whole of the
  dialled number's digits as the PBX wrote them, or the digits of its international form (so
  `41*` matches `+41 71 588 03 39`, `004171…` and, in region CH, `071…`). First match wins, then
  RINGCARD_CTI_DEFAULT_CALLER_ID; with neither configured the answer has no action.
* **Answered by** the `user`(s) (several are joined with `, `), else `answeringNumber`; a `user` of
  `voicemail` is the voicemail, so the call ends missed and stays to do.
* **Hang-up causes**: `busy` → busy; `congestion`, `notFound` → failed; `forwarded` → not missed
  (the PBX passed the call on); `cancel`, `noAnswer` → missed unless it was answered;
  `normalClearing`, no cause, or a cause the protocol does not name → completed when answered,
  else missed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from app.calls.contracts import Provider
from app.calls.events import CallEvent, CallState, EventKind
from app.calls.state import VOICEMAIL
from app.deps import Clock, Intake, SettingsDep
from app.kit.masking import mask_phone
from app.kit.phones import NumberKind, normalise
from app.settings import Settings
from app.telephony.pbx.common import cti_token_problem
from app.web.provider_fields import CALL_LOG_FULL

log = logging.getLogger("ringcard.webhooks.cti")
router = APIRouter(tags=["telephony"])

PROVIDER = Provider.CTI
BLOCKED = "blocked"  # the end_cause of a call the PBX rejected for us
EVENTS = {"newCall": EventKind.RINGING, "answer": EventKind.ANSWERED, "hangup": EventKind.ENDED}
DIRECTIONS = frozenset({"in", "out"})
# cause → (how the call ended, the cause kept in the log); None: the state machine decides from
# whether the call was answered.
HANGUP_CAUSES: dict[str, tuple[CallState | None, str | None]] = {
    "normalClearing": (None, None),
    "busy": (CallState.BUSY, "busy"),
    "congestion": (CallState.FAILED, "congestion"),
    "notFound": (CallState.FAILED, "notFound"),
    "forwarded": (None, "forwarded"),
    "cancel": (None, "cancel"),
    "noAnswer": (None, "noAnswer"),
}
_MAX_ID = 255  # calls.provider_call_id, calls.answered_by
_MAX_CAUSE = 32  # calls.end_cause
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_ROUTE_PATTERN = re.compile(r"^[0-9*]+$")

Fields = dict[str, list[str]]


class CtiError(Exception):
    """A request the protocol cannot take: answered `{"error": message}`."""

    def __init__(self, message: str, status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


# --- reading the request ---------------------------------------------------------------------


def _scalar(name: str, value: object) -> str:
    if isinstance(value, str):
        # JSON numbers arrive here too, as the text the PBX wrote (see _json_fields).
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise CtiError(f"'{name}' must be text")


def _number_as_written(text: str) -> str:
    return text


def _not_a_number(text: str) -> str:
    raise ValueError(f"{text} is not a JSON number")


def _json_fields(body: bytes) -> Fields:
    try:
        # PBXs send numeric call ids and numbers as JSON numbers. They are kept as written: read as
        # floats, two call ids of 20 digits could become the same number, hence the same call.
        data = json.loads(
            body,
            parse_int=_number_as_written,
            parse_float=_number_as_written,
            parse_constant=_not_a_number,
        )
    except (ValueError, RecursionError):  # not JSON, not UTF-8, NaN, or nested beyond reason
        raise CtiError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise CtiError("the JSON body must be an object of CTI fields")
    fields: Fields = {}
    for key, value in data.items():
        name = key.removesuffix("[]")
        if value is None:
            fields[name] = []
        elif isinstance(value, list):
            fields[name] = [_scalar(name, item) for item in value if item is not None]
        else:
            fields[name] = [_scalar(name, value)]
    return fields


def _add(fields: Fields, pairs: Iterable[tuple[str, Any]]) -> None:
    for key, value in pairs:
        if isinstance(value, str):
            fields.setdefault(key.removesuffix("[]"), []).append(value)


async def read_fields(request: Request) -> Fields:
    """The request's CTI fields, each a list (`user[]=a&user[]=b` and `"user": ["a", "b"]` alike).

    Query-string fields count too (the original reads both); the body's win over the query's."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body_fields: Fields = {}
    if content_type == "multipart/form-data":
        try:
            form = await request.form()
        except Exception:
            # A malformed multipart body surfaces as Starlette's 400 or as the multipart parser's
            # own exceptions (a 500 if left alone): whichever, the body is the client's mistake.
            raise CtiError("the body is not valid multipart form data") from None
        _add(body_fields, form.multi_items())
    else:
        body = await request.body()
        looks_json = content_type not in _FORM_TYPES and body.lstrip()[:1] in (b"{", b"[")
        if content_type == "application/json" or content_type.endswith("+json") or looks_json:
            body_fields = _json_fields(body)
        elif body:
            _add(body_fields, parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    fields: Fields = {}
    _add(fields, request.query_params.multi_items())
    fields.update(body_fields)
    for name, values in fields.items():
        for value in values:
            # Checked here, not only by StorableTextMiddleware: a PBX may send JSON or a form
            # under any content type (or none), which the middleware does not read.
            if "\x00" in value:
                raise CtiError(f"'{name}' contains a NUL character, which cannot be stored")
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
                    raise CtiError(f"'{name}' is not valid Unicode text") from None
    return fields


def _one(fields: Fields, *names: str) -> str:
    for name in names:
        values = [v.strip() for v in fields.get(name, []) if v.strip()]
        if values:
            return values[0]
    return ""


def _all(fields: Fields, name: str) -> list[str]:
    return [v.strip() for v in fields.get(name, []) if v.strip()]


# --- operator rules --------------------------------------------------------------------------


def _blocked_key(raw: str, region: str) -> str:
    number = normalise(raw, region)
    if number.kind is NumberKind.E164 and number.e164:
        return number.e164
    if number.kind is NumberKind.WITHHELD:
        # `anonymous`, `Restricted`, an empty caller id...: one withheld caller, however written.
        return "withheld"
    return raw.strip().casefold()


def is_blocked(caller: str, blocked_numbers: Iterable[str], region: str) -> bool:
    """Whether the caller is one of the operator's blocked numbers, however either is written."""
    key = _blocked_key(caller, region)
    return any(_blocked_key(entry, region) == key for entry in blocked_numbers if entry.strip())


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    caller_id: str


def parse_routes(entries: Iterable[str]) -> list[Route]:
    """`pattern=caller_id` entries; a malformed one is skipped with a warning (the rest still
    route, which beats every outbound call losing its caller id)."""
    routes = []
    for position, entry in enumerate(entries, start=1):
        pattern, sep, caller_id = entry.partition("=")
        digits = re.sub(r"[\s()+.\-/]", "", pattern)
        if not sep or not caller_id.strip() or not _ROUTE_PATTERN.match(digits):
            # Its position, not the entry: the entry holds a phone number.
            log.warning("ignored RINGCARD_CTI_OUTBOUND_ROUTES entry %d: use pattern=caller_id", position)
            continue
        regex = ".*".join(re.escape(part) for part in digits.split("*"))
        routes.append(Route(re.compile(f"^{regex}$"), caller_id.strip()))
    return routes


def outbound_caller_id(to: str, settings: Settings) -> str | None:
    """The caller id to present for an outbound call to `to`, or None when nothing is configured
    for it."""
    written = re.sub(r"\D", "", to)
    number = normalise(to, settings.default_region)
    international = number.e164[1:] if number.kind is NumberKind.E164 and number.e164 else ""
    candidates = [digits for digits in (written, international) if digits]
    for route in parse_routes(settings.cti_outbound_routes):
        if any(route.pattern.match(digits) for digits in candidates):
            return route.caller_id
    return settings.cti_default_caller_id or None


# --- events ----------------------------------------------------------------------------------


def hangup_outcome(cause: str) -> tuple[CallState | None, str | None]:
    """How a `hangup` with this `cause` ends the call (see the module's decisions)."""
    if not cause:
        return None, None
    return HANGUP_CAUSES.get(cause, (None, cause[:_MAX_CAUSE]))


def _answered_by(fields: Fields) -> str | None:
    users = _all(fields, "user")
    if any(user.casefold() == VOICEMAIL for user in users):
        return VOICEMAIL
    who = ", ".join(users) or _one(fields, "answeringNumber")
    return who[:_MAX_ID] or None


@dataclass(frozen=True, slots=True)
class CtiRequest:
    event: CallEvent
    answer: dict[str, str]


def interpret(fields: Fields, settings: Settings, now: datetime) -> CtiRequest:
    """The call event a CTI request carries and the answer the PBX gets. Raises CtiError."""
    event_name = _one(fields, "event")
    kind = EVENTS.get(event_name)
    if kind is None:
        shown = f" {event_name[:30]!r}" if event_name else ""
        raise CtiError(f"Invalid 'event'{shown}! Use newCall, answer or hangup.")
    direction = _one(fields, "direction")
    if direction not in DIRECTIONS:
        raise CtiError("Invalid 'direction'!")
    call_id = _one(fields, "callId", "call_id")
    if not call_id:
        raise CtiError("Missing 'callId'!")
    if len(call_id) > _MAX_ID:
        raise CtiError(f"'callId' is longer than {_MAX_ID} characters!")
    from_raw, to_raw = _one(fields, "from"), _one(fields, "to")
    queue = _one(fields, "queue") or None
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_call_id": call_id,
        "at": now,
        "direction": direction,
        "from_raw": from_raw,
        "to_raw": to_raw,
        "line": queue,
    }
    answer: dict[str, str] = {}
    if (
        kind is EventKind.RINGING
        and direction == "in"
        and is_blocked(from_raw, settings.cti_blocked_numbers, settings.default_region)
    ):
        # Logged as already over: the PBX rejects it, so it will never be live.
        event = CallEvent(
            kind=EventKind.ENDED, ended_as=CallState.BUSY, end_cause=BLOCKED, blocked=True, **common
        )
        return CtiRequest(event, {"action": "reject", "reason": "busy"})
    if kind is EventKind.RINGING and direction == "out" and to_raw:
        caller_id = outbound_caller_id(to_raw, settings)
        if caller_id:
            answer = {"action": "dial", "caller_id": caller_id, "number": to_raw}
    if kind is EventKind.ANSWERED:
        return CtiRequest(CallEvent(kind=kind, answered_by=_answered_by(fields), **common), answer)
    if kind is EventKind.ENDED:
        ended_as, end_cause = hangup_outcome(_one(fields, "cause"))
        return CtiRequest(CallEvent(kind=kind, ended_as=ended_as, end_cause=end_cause, **common), answer)
    return CtiRequest(CallEvent(kind=kind, **common), answer)


_FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "direction", "callId"],
    "properties": {
        "event": {"type": "string", "enum": list(EVENTS)},
        "direction": {"type": "string", "enum": sorted(DIRECTIONS)},
        "callId": {"type": "string", "description": "also accepted as call_id"},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "user": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "as form fields: user or user[] (repeated)",
        },
        "queue": {"type": "string"},
        "answeringNumber": {"type": "string"},
        "cause": {"type": "string", "enum": list(HANGUP_CAUSES)},
    },
}


@router.post(
    "/webhooks/cti/{token}",
    response_class=JSONResponse,
    summary="Generic CTI: a call event from a PBX (path token = RINGCARD_CTI_TOKEN)",
    responses={
        200: {
            "description": "`{}`, or an action: reject a blocked caller, or the caller id to dial with",
            "content": {"application/json": {"example": {"action": "reject", "reason": "busy"}}},
        },
        401: {"description": 'wrong token: `{"error": "..."}`'},
        404: {"description": "RINGCARD_CTI_TOKEN is not set"},
        422: {"description": 'an unknown event or direction, or no callId: `{"error": "..."}`'},
        **CALL_LOG_FULL,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _FIELDS_SCHEMA},
                "application/json": {"schema": _FIELDS_SCHEMA},
            },
        }
    },
)
async def cti_event(
    token: str, request: Request, settings: SettingsDep, intake: Intake, clock: Clock
) -> JSONResponse:
    """One call event from a PBX speaking the generic CTI protocol."""
    problem = cti_token_problem(settings, token)
    if problem is not None:
        log.warning("refused a CTI request: %s", problem[1])
        return _error(*problem)
    try:
        fields = await read_fields(request)
        cti = interpret(fields, settings, datetime.fromtimestamp(clock(), UTC))
    except CtiError as bad:
        return _error(bad.status_code, bad.message)
    event = cti.event
    if event.kind is EventKind.RINGING or event.blocked:
        log.info(
            "CTI call %s from %s (%s)%s",
            event.provider_call_id,
            mask_phone(event.from_raw),
            event.direction,
            " blocked" if event.blocked else "",
        )
    # Recorded before the answer: a database failure then answers 5xx, never a silent loss.
    await intake.record(event, intake.parties(event))
    return JSONResponse(cti.answer)
