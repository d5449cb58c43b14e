"""`GET|POST /pbx/event`: the answer and the hang-up of a call whose pop `GET /pbx/lookup?call_id=`
raised, so that PBX calls end in the log instead of ringing for ever (Asterisk `CURL()` from a
`U()` subroutine and a hang-up handler, FreeSWITCH `api_on_answer` and `api_hangup_hook`, FreePBX
through the same dialplan).

Decisions:

* **Same call, same token.** `call_id` is the id the lookup got (`${UNIQUEID}`, `${uuid}`); the
  token is `RINGCARD_CTI_TOKEN` as `token=` or a Bearer token, exactly as for `/pbx/lookup`.
* **Answers after the commit** (or once the event is kept for a database that is away), so a 2xx
  means the event will be in the log and a retry means something; a 503 when it cannot be kept.
  A repeated event (same `call_id` and `event`) is recognised and changes nothing.
* **The answer is empty**, `text/plain`, like the lookup's: `CURL()` returns the body into the
  dialplan. Errors carry no body either; the reason is in `X-Ringcard-Error`.
* **Events**: `answer` (or `answered`) and `hangup` (or `end`); anything else is a 422.
* **How a call ended** (`cause`, case-insensitive; see `HANGUP_CAUSES`): Asterisk's `DIALSTATUS`
  words, Q.850 numbers (`HANGUPCAUSE`, FreeSWITCH `hangup_cause_q850`) and FreeSWITCH's cause
  names. Busy ends busy; a call that could not be put through ends failed; no answer and the
  caller giving up end missed unless an answer was reported; a normal clearing (or no cause)
  ends completed when the call was answered, else missed, and stays open to an answer delivered
  after its hang-up. An unknown cause is kept (cut to 32 characters) and the call ends completed
  when answered, else missed.
* **Talk time** (`billsec`, alias `duration`: Asterisk `${CDR(billsec)}`): more than 0 means the
  call was answered, even when its answer was never reported, unless the cause says nobody
  answered (no answer, the caller gave up, busy, failed): a PBX that answers the caller itself (an
  IVR, voicemail) counts that time too. On a hang-up, `user` names who talked only when talk time
  counts; otherwise the `user` of the reported answer stands.
* **`at`**, Unix seconds (a fraction allowed), for PBXs that send events later than they
  happen; without it, the time of arrival. A time more than ten years away from ours is
  replaced by the time of arrival; text that is not a number is a 422.
* `from` and `to` matter only when this event is the first Ringcard hears of the call (the lookup
  was not asked, or its pop is still being recorded): the call is then created from them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request, Response, status

from app.calls.contracts import Provider
from app.calls.events import CallEvent, CallState, EventKind
from app.calls.outage_buffer import CallLogUnavailable
from app.calls.state import VOICEMAIL
from app.db import utcnow
from app.db.faults import is_unavailable
from app.deps import Intake, SettingsDep
from app.kit.masking import mask_phone
from app.telephony.fields import TIME_WINDOW, believable_time, call_id_problem, whole_number
from app.telephony.pbx.common import cti_token_problem, number_from_query
from app.web.auth import bearer_token
from app.web.openapi import merged, secured_by
from app.web.provider_fields import PBX_EVENT_FORM

log = logging.getLogger("ringcard.webhooks.pbx")
router = APIRouter(tags=["telephony"])

PROVIDER = Provider.PBX
TEXT = "text/plain; charset=utf-8"
# event → (what it is, the name its de-duplication key uses)
EVENTS: dict[str, tuple[EventKind, str]] = {
    "answer": (EventKind.ANSWERED, "answer"),
    "answered": (EventKind.ANSWERED, "answer"),
    "hangup": (EventKind.ENDED, "hangup"),
    "end": (EventKind.ENDED, "hangup"),
}
_NO_ANSWER = (None, "no_answer")
# Causes that end a call as missed unless its answer was reported: its talk time is the PBX's own.
_NOBODY_ANSWERED = frozenset({"no_answer", "cancel"})
_NORMAL: tuple[CallState | None, str | None] = (None, None)
# cause (upper case) → (how the call ended, the cause kept in the log). None as the end: the state
# machine decides from whether the call was answered; None as the cause leaves the end open to an
# answer that happened before the hang-up but was delivered after it.
HANGUP_CAUSES: dict[str, tuple[CallState | None, str | None]] = {
    # Asterisk ${DIALSTATUS}
    "ANSWER": _NORMAL,
    "NOANSWER": _NO_ANSWER,
    "CANCEL": (None, "cancel"),
    "BUSY": (CallState.BUSY, "busy"),
    "CONGESTION": (CallState.FAILED, "congestion"),
    "CHANUNAVAIL": (CallState.FAILED, "unavailable"),
    # Q.850 numbers: Asterisk ${HANGUPCAUSE}, FreeSWITCH ${hangup_cause_q850}
    "1": (CallState.FAILED, "unallocated_number"),
    "3": (CallState.FAILED, "no_route_destination"),
    "16": _NORMAL,
    "17": (CallState.BUSY, "busy"),
    "18": _NO_ANSWER,
    "19": _NO_ANSWER,
    "20": (CallState.FAILED, "subscriber_absent"),
    "21": (CallState.FAILED, "call_rejected"),
    "27": (CallState.FAILED, "destination_out_of_order"),
    "31": _NORMAL,
    "34": (CallState.FAILED, "congestion"),
    "38": (CallState.FAILED, "network_out_of_order"),
    "41": (CallState.FAILED, "normal_temporary_failure"),
    "42": (CallState.FAILED, "congestion"),
    # FreeSWITCH ${hangup_cause}
    "NORMAL_CLEARING": _NORMAL,
    "NORMAL_UNSPECIFIED": _NORMAL,
    "ORIGINATOR_CANCEL": (None, "cancel"),
    "NO_ANSWER": _NO_ANSWER,
    "NO_USER_RESPONSE": _NO_ANSWER,
    "ALLOTTED_TIMEOUT": _NO_ANSWER,
    "PROGRESS_TIMEOUT": _NO_ANSWER,
    "USER_BUSY": (CallState.BUSY, "busy"),
    "CALL_REJECTED": (CallState.FAILED, "call_rejected"),
    "UNALLOCATED_NUMBER": (CallState.FAILED, "unallocated_number"),
    "NO_ROUTE_DESTINATION": (CallState.FAILED, "no_route_destination"),
    "SUBSCRIBER_ABSENT": (CallState.FAILED, "subscriber_absent"),
    "USER_NOT_REGISTERED": (CallState.FAILED, "user_not_registered"),
    "DESTINATION_OUT_OF_ORDER": (CallState.FAILED, "destination_out_of_order"),
    "NETWORK_OUT_OF_ORDER": (CallState.FAILED, "network_out_of_order"),
    "NORMAL_TEMPORARY_FAILURE": (CallState.FAILED, "normal_temporary_failure"),
    "NORMAL_CIRCUIT_CONGESTION": (CallState.FAILED, "congestion"),
    "SWITCH_CONGESTION": (CallState.FAILED, "congestion"),
    "REQUESTED_CHAN_UNAVAIL": (CallState.FAILED, "unavailable"),
    "RECOVERY_ON_TIMER_EXPIRE": (CallState.FAILED, "recovery_on_timer_expire"),
}
MAX_TALK_S = 7 * 24 * 3600  # a week, as for Twilio's CallDuration
_MAX_TEXT = 255  # calls.answered_by, from_raw, to_raw
_MAX_CAUSE = 32  # calls.end_cause
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_FORM_FIELDS = ("call_id", "event", "user", "cause", "from", "to", "at", "billsec", "duration")


class _Problem(Exception):
    def __init__(self, message: str, status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _plain(status_code: int = status.HTTP_200_OK, problem: str | None = None) -> Response:
    headers = {}
    if problem:
        # A header holds printable ASCII only: anything else the client sent is shown escaped.
        escaped = problem.encode("ascii", "backslashreplace").decode()
        headers["X-Ringcard-Error"] = "".join(ch if ch.isprintable() else "?" for ch in escaped)
    if status_code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = "2"
    return Response(b"", status_code=status_code, media_type=TEXT, headers=headers)


def hangup_outcome(cause: str) -> tuple[CallState | None, str | None]:
    """How a hang-up with this `cause` ends the call (see the module's decisions)."""
    cause = cause.strip()
    if not cause:
        return _NORMAL
    return HANGUP_CAUSES.get(cause.upper(), (None, cause[:_MAX_CAUSE]))


def event_time(text: str, now: datetime) -> datetime:
    """`at` as a time: `now` when absent or unbelievable; a _Problem when it is not a number."""
    text = text.strip()
    if not text:
        return now
    if not (text.isascii() and _UNIX_SECONDS.fullmatch(text)):
        raise _Problem("at must be a Unix time in seconds, such as 1732000000")
    seconds = float(text)
    if abs(seconds - now.timestamp()) > TIME_WINDOW.total_seconds():
        return now
    return believable_time(datetime.fromtimestamp(seconds, UTC), now) or now


def talk_seconds(fields: dict[str, str]) -> int | None:
    """`billsec` (else `duration`) as whole seconds; None when neither is given."""
    for name in ("billsec", "duration"):
        text = fields.get(name, "").strip()
        if not text:
            continue
        seconds = whole_number(text, MAX_TALK_S)
        if seconds is None:
            raise _Problem(f"{name} must be a whole number of seconds from 0 to {MAX_TALK_S}")
        return seconds
    return None


@dataclass(frozen=True, slots=True)
class PbxEvent:
    event: CallEvent
    name: str  # answer | hangup


def interpret(fields: dict[str, str], now: datetime) -> PbxEvent:
    """The call event these fields describe. Raises _Problem naming what is wrong."""
    call_id = fields.get("call_id", "").strip()
    if not call_id:
        raise _Problem("missing call_id")
    if (problem := call_id_problem(call_id, "call_id")) is not None:
        raise _Problem(problem)
    event_name = fields.get("event", "").strip()
    known = EVENTS.get(event_name.lower())
    if known is None:
        shown = f" {event_name[:30]!a} is unknown:" if event_name else " missing:"
        raise _Problem(f"event{shown} use answer or hangup")
    kind, name = known
    at = event_time(fields.get("at", ""), now)
    talked = talk_seconds(fields)
    user = fields.get("user", "").strip()[:_MAX_TEXT] or None
    if user is not None and user.casefold() == VOICEMAIL:
        user = VOICEMAIL  # the voicemail picked up: the call stays to be called back
    line = number_from_query(fields.get("to", "")).strip()
    ended_as, end_cause, duration = None, None, None
    if kind is EventKind.ENDED:
        ended_as, end_cause = hangup_outcome(fields.get("cause", ""))
        nobody_answered = ended_as is not None or end_cause in _NOBODY_ANSWERED
        duration = None if nobody_answered else talked
        if not duration:
            # Who talked, but nobody did: the user of a reported answer stands instead.
            user = None
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_id,
        kind=kind,
        at=at,
        from_raw=number_from_query(fields.get("from", "")).strip(),
        to_raw=line,
        line=line or None,
        event_key=f"{call_id}:{name}",
        ended_as=ended_as,
        end_cause=end_cause,
        duration_s=duration,
        answered_by=user,
    )
    return PbxEvent(event, name)


async def _body_fields(request: Request) -> dict[str, str]:
    """The fields of a POST body: a form (`CURL(url,data)` posts one; with a custom header it may
    come without a content type, and is read as a form all the same)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fields: dict[str, str] = {}
    if content_type == "multipart/form-data":
        try:
            form = await request.form()
        except Exception:
            raise _Problem("the body is not valid multipart form data") from None
        try:
            for key, value in form.multi_items():
                if isinstance(value, str):
                    fields.setdefault(key, value)
        finally:
            await form.close()
    else:
        body = await request.body()
        for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
            fields.setdefault(key, value)
    for name, value in fields.items():
        if "\x00" in value:
            raise _Problem(f"{name} contains a NUL character, which cannot be stored")
    return fields


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "recorded (or a repeat of an event already recorded): an empty body",
        "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
    },
    401: {"description": "wrong token (empty body; the reason is in X-Ringcard-Error)"},
    404: {"description": "RINGCARD_CTI_TOKEN is not set"},
    422: {"description": "a missing or malformed parameter (named in X-Ringcard-Error)"},
    503: {"description": "the call log cannot take the event now; retry (Retry-After)"},
}


_SUMMARY = "PBX: a call's answer or hang-up (the call /pbx/lookup?call_id= popped)"


# One route per method: a route with both would give both operations one OpenAPI id.
@router.get(
    "/pbx/event",
    response_class=Response,
    summary=_SUMMARY,
    responses=_RESPONSES,
    openapi_extra=secured_by("ctiToken"),
)
@router.post(
    "/pbx/event",
    response_class=Response,
    summary=_SUMMARY,
    responses=_RESPONSES,
    openapi_extra=merged(secured_by("ctiToken"), PBX_EVENT_FORM),
)
async def pbx_event(
    request: Request,
    settings: SettingsDep,
    intake: Intake,
    call_id: Annotated[str | None, Query(description="the id the call's /pbx/lookup got")] = None,
    event: Annotated[str | None, Query(description="answer (or answered), hangup (or end)")] = None,
    user: Annotated[str | None, Query(description="who answered: an extension or an agent")] = None,
    cause: Annotated[
        str | None,
        Query(description="how it ended: DIALSTATUS, a Q.850 number or a FreeSWITCH hangup cause"),
    ] = None,
    from_: Annotated[str | None, Query(alias="from", description="the caller's number")] = None,
    to: Annotated[str | None, Query(description="the dialled number or queue (the call's line)")] = None,
    at: Annotated[str | None, Query(description="when it happened, Unix seconds (else now)")] = None,
    billsec: Annotated[str | None, Query(description="talk time in whole seconds")] = None,
    duration: Annotated[str | None, Query(description="the same as billsec")] = None,
    token: Annotated[
        str | None, Query(description="RINGCARD_CTI_TOKEN (or send it as a Bearer token)")
    ] = None,
) -> Response:
    """The answer or the hang-up of a PBX call, for the call log and the agents' screens."""
    problem = cti_token_problem(settings, token, bearer_token(request))
    if problem is not None:
        log.warning("refused a PBX event: %s", problem[1])
        return _plain(problem[0], problem[1])
    given = (call_id, event, user, cause, from_, to, at, billsec, duration)
    fields = {name: value for name, value in zip(_FORM_FIELDS, given, strict=True) if value is not None}
    try:
        if request.method == "POST":
            # The body's fields win over the query's (the generic CTI reads both the same way).
            fields.update({k: v for k, v in (await _body_fields(request)).items() if k in _FORM_FIELDS})
        pbx = interpret(fields, utcnow())
    except _Problem as bad:
        log.info("refused a PBX event: %s", bad.message)
        return _plain(bad.status_code, bad.message)
    try:
        await intake.record(pbx.event, intake.parties(pbx.event))
    except Exception as exc:
        if not (isinstance(exc, CallLogUnavailable) or is_unavailable(exc)):
            raise
        log.warning(
            "PBX %s for call %s not recorded: the database is unavailable",
            pbx.name,
            pbx.event.provider_call_id,
        )
        return _plain(status.HTTP_503_SERVICE_UNAVAILABLE, "the call log is unavailable; retry shortly")
    log.info(
        "PBX %s for call %s%s",
        pbx.name,
        pbx.event.provider_call_id,
        f" from {mask_phone(pbx.event.from_raw)}" if pbx.event.from_raw else "",
    )
    return _plain()
