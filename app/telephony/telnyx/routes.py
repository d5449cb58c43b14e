"""Telnyx Call Control: `POST /webhooks/telnyx`, the call events of a Call Control application
(or of a SIP connection with webhooks), verified with Ed25519 and fed to the shared state machine.

Decisions:

* **Which id is the call.** `payload.call_control_id`: Telnyx's id of one call leg, the same in
  every event of that leg and the id every Call Control command names. `call_session_id` would fold
  every leg of a session into one call: an agent leg dialled out from the application shares the
  caller's session, and since Telnyx delivers out of order its outgoing `call.initiated` could
  create the call first and turn the caller's ringing into an outbound call nobody sees. Per leg,
  that agent leg is simply an outbound call in the log.
* **Which event is which.** `data.id` is the event's own id and stays the same when Telnyx
  redelivers, so it is the de-duplication key; `data.occurred_at` is when it happened (Telnyx's
  clock), which is what orders an answer delivered after its hang-up.
* **How a call ended** (`payload.hangup_cause`, see `HANGUP_CAUSES`):

  | hangup_cause | ends as |
  |---|---|
  | `normal_clearing`, `unspecified`, absent | completed when answered, else missed (the state machine) |
  | `originator_cancel`, `timeout`, `no_answer` | missed, unless it was answered (then completed) |
  | `time_limit` | completed when answered (the call hit its maximum length), else missed |
  | `user_busy`, `busy` | busy |
  | `call_rejected`, `unallocated_number`, `not_found`, `no_route_destination`, ... | failed |
  | anything else | missed unless answered, keeping the cause in the log |

* `call.initiated` with `direction` `incoming` rings (and pops); `outgoing` is logged as an outbound
  call, never popped.
* `call.transcription`, `call.recording.transcription.saved` and `call.recording.saved` attach a
  transcript or a recording to the call (app/telephony/telnyx/transcripts.py). Every other event
  type is acknowledged (204) and ignored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status

from app.calls.contracts import Provider
from app.calls.events import CallEvent, CallState, EventKind
from app.db import utcnow
from app.db.storable import nul_path
from app.deps import Clock, Intake, SessionDep, require_secret
from app.integrations import deliveries
from app.kit.masking import mask_phone
from app.ops import signature_diagnosis
from app.summaries.routes import wake_after_commit
from app.telephony.fields import TIME_WINDOW, believable_time, call_id_problem
from app.telephony.telnyx import transcripts
from app.telephony.telnyx.signature import telnyx_signature_valid
from app.web.openapi import merged, secured_by
from app.web.provider_fields import TELNYX_EVENT

log = logging.getLogger("ringcard.webhooks.telnyx")
router = APIRouter(prefix="/webhooks", tags=["telephony"])

PROVIDER = Provider.TELNYX
_DIRECTIONS = {"incoming": "in", "outgoing": "out"}
_EVENT_KINDS = {
    "call.initiated": EventKind.RINGING,
    "call.answered": EventKind.ANSWERED,
    "call.hangup": EventKind.ENDED,
}
# (how the call ended, the cause kept in the log). None as the end: the state machine decides
# from whether the call was answered. A cause of None leaves the end open to an answer that
# happened before the hang-up but was delivered after it.
HANGUP_CAUSES: dict[str, tuple[CallState | None, str | None]] = {
    "normal_clearing": (None, None),
    "unspecified": (None, None),
    "originator_cancel": (None, "originator_cancel"),
    "timeout": (None, "timeout"),
    "no_answer": (None, "no_answer"),
    "time_limit": (None, "time_limit"),
    "user_busy": (CallState.BUSY, "busy"),
    "busy": (CallState.BUSY, "busy"),
    "call_rejected": (CallState.FAILED, "call_rejected"),
    "unallocated_number": (CallState.FAILED, "unallocated_number"),
    "not_found": (CallState.FAILED, "not_found"),
    "invalid_number_format": (CallState.FAILED, "invalid_number_format"),
    "destination_out_of_order": (CallState.FAILED, "destination_out_of_order"),
    "network_out_of_order": (CallState.FAILED, "network_out_of_order"),
    "normal_temporary_failure": (CallState.FAILED, "normal_temporary_failure"),
    "recovery_on_timer_expire": (CallState.FAILED, "recovery_on_timer_expire"),
    "no_route_destination": (CallState.FAILED, "no_route_destination"),
}
_END_CAUSE_MAX = 32  # calls.end_cause


TelnyxKey = Annotated[str, Depends(require_secret("telnyx_public_key", "Telnyx is switched off"))]


async def verified_body(request: Request, public_key: TelnyxKey, clock: Clock) -> bytes:
    """The raw body, once its Ed25519 signature and timestamp prove Telnyx sent it just now."""
    body = await request.body()
    signature = request.headers.get("telnyx-signature-ed25519")
    timestamp = request.headers.get("telnyx-timestamp")
    if not telnyx_signature_valid(public_key, body, signature, timestamp, now=clock):
        reason, detail = signature_diagnosis.telnyx_rejection(public_key, body, signature, timestamp, clock)
        deliveries.note_rejection(reason, detail)
        log.warning("rejected a Telnyx request: %s (%s)", reason.value, detail)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "bad or missing telnyx-signature-ed25519, or telnyx-timestamp more than 300 s away",
        )
    return body


TelnyxBody = Annotated[bytes, Depends(verified_body)]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, message)


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _unprocessable(f"{name} must be a JSON object")
    return value


def _text(container: dict[str, Any], name: str, path: str, *, required: bool = True) -> str:
    value = container.get(name)
    if value is None and not required:
        return ""
    if value is None:
        raise _unprocessable(f"missing {path}.{name}")
    if not isinstance(value, str):
        raise _unprocessable(f"{path}.{name} must be text")
    if required and not value.strip():
        raise _unprocessable(f"{path}.{name} is empty")
    return value.strip()


def _occurred_at(data: dict[str, Any]) -> datetime:
    stamp = _text(data, "occurred_at", "data")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        raise _unprocessable(f"data.occurred_at {stamp[:40]!r} is not an ISO 8601 time") from None
    # Refused rather than replaced by our clock: it is what orders an answer against its hang-up.
    believable = believable_time(at if at.tzinfo else at.replace(tzinfo=UTC), utcnow())
    if believable is None:
        raise _unprocessable(
            f"data.occurred_at {stamp[:40]!r} is not a time within {TIME_WINDOW.days} days of now"
        )
    return believable


def hangup_outcome(cause: str) -> tuple[CallState | None, str | None]:
    """How a `call.hangup` with this `hangup_cause` ends the call (see the module's table)."""
    if not cause:
        return None, None
    return HANGUP_CAUSES.get(cause.lower(), (None, cause[:_END_CAUSE_MAX]))


def read_data(body: bytes) -> dict[str, Any]:
    """The `data` object of a Telnyx webhook, whatever its event type. Raises a 422 naming the
    problem for a body that is not one."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _unprocessable("the body is not valid JSON") from None
    # StorableTextMiddleware reads only bodies declared as JSON; Telnyx's is parsed whatever it says.
    if (where := nul_path(envelope)) is not None:
        raise _unprocessable(f"{where} contains a NUL character, which cannot be stored")
    return _object(_object(envelope, "the body").get("data"), "data")


def parse_event(body: bytes) -> CallEvent | None:
    """The call event a Telnyx webhook carries; None for event types Ringcard does not follow.
    Raises a 422 naming the field for anything malformed."""
    return call_event_of(read_data(body))


def call_event_of(data: dict[str, Any]) -> CallEvent | None:
    """The call event in a webhook's `data`; None for event types that do not move a call."""
    kind = _EVENT_KINDS.get(_text(data, "event_type", "data"))
    if kind is None:
        return None
    event_id = _text(data, "id", "data")
    at = _occurred_at(data)
    payload = _object(data.get("payload"), "data.payload")
    call_control_id = _text(payload, "call_control_id", "data.payload")
    if (problem := call_id_problem(call_control_id, "data.payload.call_control_id")) is not None:
        raise _unprocessable(problem)
    raw_direction = _text(payload, "direction", "data.payload", required=False).lower()
    direction = _DIRECTIONS.get(raw_direction or "incoming")
    if direction is None:
        raise _unprocessable(
            f"data.payload.direction {raw_direction[:20]!r} is neither 'incoming' nor 'outgoing'"
        )
    ended_as, end_cause = None, None
    if kind is EventKind.ENDED:
        ended_as, end_cause = hangup_outcome(_text(payload, "hangup_cause", "data.payload", required=False))
    return CallEvent(
        provider=PROVIDER,
        provider_call_id=call_control_id,
        kind=kind,
        at=at,
        direction=direction,
        from_raw=_text(payload, "from", "data.payload", required=False),
        to_raw=_text(payload, "to", "data.payload", required=False),
        event_key=event_id,
        ended_as=ended_as,
        end_cause=end_cause,
    )


@router.post(
    "/telnyx",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Telnyx: a Call Control event",
    responses={
        204: {"description": "recorded, a repeat of a recorded event, or an event type not followed"},
        401: {"description": "bad signature, or a timestamp more than 300 s away"},
        404: {
            "description": "RINGCARD_TELNYX_PUBLIC_KEY is not set, or a transcript event names a call "
            "Ringcard never saw"
        },
        422: {"description": "not a Telnyx call event (the message names the field)"},
        503: {"description": "the call log cannot keep the event now; Telnyx retries (Retry-After)"},
    },
    openapi_extra=merged(secured_by("telnyxSignature"), TELNYX_EVENT),
)
async def telnyx_event(
    body: TelnyxBody, intake: Intake, session: SessionDep, request: Request, tasks: BackgroundTasks
) -> Response:
    """Telnyx Call Control events: `call.initiated`, `call.answered`, `call.hangup` move the call;
    the transcript events attach to it (app/telephony/telnyx/transcripts.py)."""
    data = read_data(body)
    event_type = data.get("event_type")
    if isinstance(event_type, str) and event_type in transcripts.EVENT_TYPES:
        # In the request's session: committed before the answer, so a failure answers 5xx and
        # Telnyx redelivers. Call events take the intake's own path and never open this one.
        asked = await transcripts.take_transcript_event(session, data)
        if asked is not None:
            wake_after_commit(request, tasks, asked)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    event = call_event_of(data)
    if event is not None:
        if event.kind is EventKind.RINGING:
            log.info(
                "Telnyx call %s from %s (%s)",
                event.provider_call_id,
                mask_phone(event.from_raw),
                event.direction,
            )
        # Recorded before the answer, so a database failure answers 5xx and Telnyx redelivers.
        await intake.record(event, intake.parties(event))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
