"""Twilio Programmable Voice: the incoming-call webhook (answers TwiML at once) and status
callbacks. Verified per PROTOCOLS.md; parsed into CallEvents for the shared state machine."""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.datastructures import FormData

from app.calls.events import CallEvent, CallState, EventKind
from app.calls.identity import call_id_for
from app.db import utcnow
from app.integrations import deliveries, diagnosis
from app.kit.lines import line_key
from app.kit.masking import mask_phone
from app.settings import TwilioRouting
from app.telephony.fields import believable_time, call_id_problem, whole_number
from app.telephony.twilio.signature import public_request_url, twilio_signature_valid
from app.telephony.twilio.twiml import (
    TwimlFallback,
    after_dial,
    enqueue,
    fallback_response,
    forward,
    ring_clients,
)
from app.web.auth import SettingsDep
from app.web.openapi import (
    CALL_LOG_FULL,
    TWILIO_DIAL_FIELDS,
    TWILIO_LEG_FIELDS,
    TWILIO_STATUS_FIELDS,
    TWILIO_VOICE_FIELDS,
    TWIML_AFTER_DIAL_EXAMPLE,
    TWIML_RING_EXAMPLE,
    form_body,
    merged,
    query_fields,
    secured_by,
    text_answer,
    twilio_responses,
)

log = logging.getLogger("ringcard.webhooks.twilio")
router = APIRouter(prefix="/webhooks/twilio", tags=["telephony"])

PROVIDER = "twilio"
TWIML = "text/xml"
_STATUS_EVENTS: dict[str, tuple[EventKind, CallState | None]] = {
    "queued": (EventKind.RINGING, None),
    "initiated": (EventKind.RINGING, None),
    "ringing": (EventKind.RINGING, None),
    "in-progress": (EventKind.ANSWERED, None),
    "completed": (EventKind.ENDED, CallState.COMPLETED),
    "busy": (EventKind.ENDED, CallState.BUSY),
    "failed": (EventKind.ENDED, CallState.FAILED),
    "no-answer": (EventKind.ENDED, CallState.MISSED),
    "canceled": (EventKind.ENDED, CallState.MISSED),
}
# Far above any call Twilio connects (its calls end after 24 hours at the latest); what matters is
# that talking_s (a 32-bit column) and the answer time derived from it stay computable.
MAX_CALL_DURATION_S = 7 * 24 * 3600
# The callbacks the voice TwiML names: each dialled leg's progress, and the dial's outcome.
LEG_PATH = "/webhooks/twilio/leg"
DIAL_PATH = "/webhooks/twilio/dial"
# A dialled leg's CallStatus as it bears on the caller's call. Only the answer and the answered
# leg's hang-up do: a leg that rings, or stops ringing because another agent answered first,
# says nothing about the caller (the dial's own outcome, at DIAL_PATH, does).
_LEG_ANSWERED = "in-progress"
_LEG_COMPLETED = "completed"
_LEG_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
_DIAL_CONNECTED = frozenset({"completed", "answered"})
_DIAL_UNANSWERED = frozenset({"busy", "failed", "no-answer", "canceled"})


async def verified_params(request: Request, settings: SettingsDep) -> FormData:
    """The request's parameters, once its X-Twilio-Signature proves Twilio sent them."""
    token = settings.twilio_auth_token
    if not token:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "Twilio is switched off: set RINGCARD_TWILIO_AUTH_TOKEN"
        )
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    path_and_query = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    url = public_request_url(settings.public_url, str(request.url), path_and_query)
    # A GET is signed over its URL alone; a POST over the URL and its form fields.
    try:
        form = await request.form() if request.method == "POST" else FormData()
    except Exception as exc:  # the multipart parser's own errors: the body is unreadable
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "unreadable form body") from exc
    signed: dict[str, list[str]] = {
        name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form
    }
    # Twilio sends no files and nothing reads them; a multipart body's uploads would otherwise stay
    # open until the garbage collector finds them.
    await form.close()
    signature = request.headers.get("x-twilio-signature")
    if not twilio_signature_valid(token, url, signed, signature):
        received, forwarded = diagnosis.request_urls(request.url.scheme, request.headers, path_and_query)
        reason, detail = diagnosis.twilio_rejection(
            token,
            checked_url=url,
            received_url=received,
            forwarded_url=forwarded,
            public_url=settings.public_url,
            params=signed,
            signature=signature,
        )
        deliveries.note_rejection(reason, detail)
        log.warning("rejected a Twilio request for %s: %s (%s)", request.url.path, reason.value, detail)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad or missing X-Twilio-Signature")
    if request.method != "POST":
        return FormData([(k, v) for k, v in request.query_params.multi_items()])
    for name, values in signed.items():
        # StorableTextMiddleware reads urlencoded bodies only; a multipart one arrives here unread.
        if "\x00" in name or any("\x00" in value for value in values):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"{name.replace(chr(0), '?')} contains a NUL character, which cannot be stored",
            )
    return form


TwilioParams = Annotated[FormData, Depends(verified_params)]


def _required(params: FormData, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"missing {name}")
    return value.strip()


def _text(params: FormData, name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, message)


def _call_sid(params: FormData, name: str = "CallSid") -> str:
    """A call's SID field (`CallSid`, a leg's `ParentCallSid`): present and storable."""
    call_sid = _required(params, name)
    if (problem := call_id_problem(call_sid, name)) is not None:
        raise _unprocessable(problem)
    return call_sid


def _when(params: FormData) -> datetime:
    """When the status changed by Twilio's clock; our own time when `Timestamp` is absent, is not
    an RFC 2822 date or is not believable. It only places the event in time (it never decides
    which call or which event it is), so a bad one is no reason to lose the callback."""
    now = utcnow()
    stamp = _text(params, "Timestamp")
    if stamp:
        try:
            parsed = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError, OverflowError):
            return now
        return believable_time(parsed, now) or now
    return now


def _direction(params: FormData) -> str:
    # Twilio sends `inbound`, `outbound-api` or `outbound-dial`. Anything else is taken as outbound
    # (logged, never popped) rather than refused: a value Twilio adds later must not fail live calls.
    return "in" if _text(params, "Direction").strip().lower() in ("", "inbound") else "out"


def _sequence(params: FormData) -> str:
    """`SequenceNumber` as sent (a whole number from 0), or "" when absent."""
    sequence = _text(params, "SequenceNumber").strip()
    if sequence and not (sequence.isascii() and sequence.isdigit()):
        raise _unprocessable("SequenceNumber must be a whole number")
    # Only ever compared as text, in the event key: no bound needed (a long key is hashed).
    return sequence


def _duration(params: FormData, name: str = "CallDuration") -> int | None:
    """A duration field (`CallDuration`, the dial's `DialCallDuration`) in whole seconds, or None."""
    duration = _text(params, name).strip()
    if not duration:
        return None
    seconds = whole_number(duration, MAX_CALL_DURATION_S)
    if seconds is None:
        raise _unprocessable(f"{name} must be a whole number of seconds from 0 to {MAX_CALL_DURATION_S}")
    return seconds


_VOICE_RESPONSES = twilio_responses(
    {
        200: text_answer(
            "TwiML at once (the call is recorded and popped behind it): ring the line's agents, "
            "enqueue or forward, per RINGCARD_TWILIO_ROUTING; a spoken apology if routing fails",
            TWIML,
            TWIML_RING_EXAMPLE,
        )
    }
)
_VOICE_SUMMARY = "Twilio: an incoming call"


# One route per method: a route with both would give both operations one OpenAPI id.
@router.post(
    "/voice",
    response_class=Response,
    summary=_VOICE_SUMMARY,
    responses=_VOICE_RESPONSES,
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(TWILIO_VOICE_FIELDS, required=["CallSid"], description="Twilio's incoming-call request"),
    ),
)
@router.get(
    "/voice",
    response_class=Response,
    summary=_VOICE_SUMMARY,
    responses=_VOICE_RESPONSES,
    openapi_extra=merged(
        secured_by("twilioSignature"), query_fields(TWILIO_VOICE_FIELDS, required=["CallSid"])
    ),
)
async def incoming_call(request: Request, params: TwilioParams, settings: SettingsDep) -> Response:
    """Answers TwiML at once; recording, lookup and the pop happen after, in the background."""
    call_sid = _call_sid(params)
    from_raw = _text(params, "From") or _text(params, "Caller")
    to_raw = _text(params, "To") or _text(params, "Called")
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=EventKind.RINGING,
        at=utcnow(),
        direction=_direction(params),
        from_raw=from_raw,
        to_raw=to_raw,
        event_key=f"{call_sid}:voice",
    )
    log.info("incoming Twilio call %s from %s", call_sid, mask_phone(from_raw))
    try:
        request.app.state.intake.submit(event)
        twiml = await _route(
            request,
            settings.twilio_routing,
            call_sid,
            to_raw,
            settings.default_region,
            settings.twilio_forward_to,
            settings.public_url,
        )
    except Exception:
        log.exception("TwiML routing failed; answering the fallback")
        twiml = fallback_response()
    return Response(twiml, media_type=TWIML)


async def _route(
    request: Request,
    routing: TwilioRouting,
    call_sid: str,
    to_raw: str,
    region: str,
    forward_to: str | None,
    public_url: str | None,
) -> str:
    base = callback_base(request, public_url)
    if routing is TwilioRouting.FORWARD and forward_to:
        return forward(forward_to, action_url=base + DIAL_PATH, status_callback=base + LEG_PATH)
    line = _line_of(to_raw, region)
    if routing is TwilioRouting.ENQUEUE:
        return enqueue(_queue_of(line))
    identities = await request.app.state.directory.agents_for(line)
    return ring_clients(
        identities[:10],
        {"ringcard_call_id": call_id_for(PROVIDER, call_sid)},
        fallback=TwimlFallback(message=None, queue_name=_queue_of(line)),
        action_url=base + DIAL_PATH,
        status_callback=base + LEG_PATH,
    )


def callback_base(request: Request, public_url: str | None) -> str:
    """Where Twilio reaches this service, for the callback URLs the TwiML names: Twilio signs the
    URL it was given, and `verified_params` rebuilds it from RINGCARD_PUBLIC_URL the same way."""
    return (public_url or str(request.base_url)).rstrip("/")


def _line_of(to_raw: str, region: str) -> str:
    return line_key(to_raw, region) if to_raw else "default"


def _queue_of(line: str) -> str:
    """The Twilio queue a caller of `line` waits in when no agent answers (64 characters at most)."""
    return line[:64] or "default"


@router.post(
    "/status",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Twilio: a call's status callback",
    responses=twilio_responses(
        {204: {"description": "recorded (a repeated delivery changes nothing)"}, **CALL_LOG_FULL}
    ),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_STATUS_FIELDS,
            required=["CallSid", "CallStatus"],
            description="Twilio's status callback (initiated, ringing, answered, completed)",
        ),
    ),
)
async def status_callback(request: Request, params: TwilioParams) -> Response:
    call_sid = _call_sid(params)
    call_status = _required(params, "CallStatus").lower()
    if call_status not in _STATUS_EVENTS:
        raise _unprocessable(f"unknown CallStatus {call_status[:40]!r}")
    kind, ended_as = _STATUS_EVENTS[call_status]
    sequence = _sequence(params)
    duration = _duration(params)
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=kind,
        at=_when(params),
        direction=_direction(params),
        from_raw=_text(params, "From"),
        to_raw=_text(params, "To"),
        # Twilio gives no ordering guarantee: (CallSid, SequenceNumber) names one delivery.
        event_key=f"{call_sid}:status:{sequence}" if sequence else f"{call_sid}:status:{call_status}",
        ended_as=ended_as,
        end_cause=call_status if kind is EventKind.ENDED and call_status != "completed" else None,
        duration_s=duration,
    )
    await request.app.state.intake.record(event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _answered_by(request: Request, leg_to: str) -> str | None:
    """Who took the call, as agents know them: a `client:<identity>` leg is the agent whose
    username the identity is (Twilio Voice SDK identity = Ringcard username); a number or SIP leg
    is that number or address."""
    to = leg_to.strip()
    if not to:
        return None
    if to.lower().startswith("client:"):
        identity = to[len("client:") :]
        known: str | None = request.app.state.directory.display_name(identity)
        return (known or identity)[:255] or None
    return to[:255]


@router.post(
    LEG_PATH.removeprefix(router.prefix),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Twilio: a dialled leg's progress",
    responses=twilio_responses(
        {204: {"description": "recorded, or nothing to record (a leg ringing)"}, **CALL_LOG_FULL}
    ),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_LEG_FIELDS,
            required=["CallSid", "ParentCallSid", "CallStatus"],
            description="The statusCallback the voice TwiML names on each `<Client>`/`<Number>`",
        ),
    ),
)
async def leg_callback(request: Request, params: TwilioParams) -> Response:
    """A dialled leg's progress (statusCallback on each `<Client>`/`<Number>`), mapped onto the
    caller's call (`ParentCallSid`): its answer says who answered and when, its end how long they
    talked."""
    leg_sid = _call_sid(params)
    parent_sid = _call_sid(params, "ParentCallSid")
    leg_status = _required(params, "CallStatus").lower()
    if leg_status not in _LEG_STATUSES:
        raise _unprocessable(f"unknown CallStatus {leg_status[:40]!r}")
    sequence = _sequence(params)
    duration = _duration(params)
    if leg_status == _LEG_ANSWERED:
        kind, ended_as = EventKind.ANSWERED, None
    elif leg_status == _LEG_COMPLETED and duration:
        kind, ended_as = EventKind.ENDED, CallState.COMPLETED
    else:
        # Ringing, or done ringing without being the one answered: nothing for the call log.
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=parent_sid,
        kind=kind,
        at=_when(params),
        event_key=f"{parent_sid}:leg:{leg_sid}:{sequence or leg_status}",
        ended_as=ended_as,
        duration_s=duration,
        answered_by=_answered_by(request, _text(params, "To") or _text(params, "Called")),
    )
    await request.app.state.intake.record(event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    DIAL_PATH.removeprefix(router.prefix),
    response_class=Response,
    summary="Twilio: how the dial ended (<Dial action>)",
    responses=twilio_responses(
        {
            200: text_answer(
                "TwiML: `<Hangup/>` after a conversation; after a dial nobody answered, the line's "
                "queue (RINGCARD_TWILIO_ROUTING=clients) or `<Hangup/>`",
                TWIML,
                TWIML_AFTER_DIAL_EXAMPLE,
            )
        }
    ),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_DIAL_FIELDS,
            required=["CallSid", "DialCallStatus"],
            description="The `<Dial action>` request the voice TwiML names",
        ),
    ),
)
async def dial_action(request: Request, params: TwilioParams, settings: SettingsDep) -> Response:
    """The `<Dial action>`: how the dial ended (`DialCallStatus`), and the TwiML that follows it.
    A dial nobody answered makes the call missed; the caller then waits in the line's queue."""
    call_sid = _call_sid(params)
    dial_status = _required(params, "DialCallStatus").lower()
    if dial_status not in _DIAL_CONNECTED | _DIAL_UNANSWERED:
        raise _unprocessable(f"unknown DialCallStatus {dial_status[:40]!r}")
    to_raw = _text(params, "To") or _text(params, "Called")
    talked = dial_status in _DIAL_CONNECTED
    seconds = _duration(params, "DialCallDuration")
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=EventKind.ENDED,
        at=_when(params),
        direction=_direction(params),
        from_raw=_text(params, "From") or _text(params, "Caller"),
        to_raw=to_raw,
        event_key=f"{call_sid}:dial",
        ended_as=CallState.COMPLETED if talked else CallState.MISSED,
        end_cause=None if talked else dial_status,
        duration_s=seconds if talked else None,
    )
    # The caller is waiting for the next TwiML: recording happens behind the answer.
    request.app.state.intake.submit(event)
    fallback = None
    if not talked and settings.twilio_routing is TwilioRouting.CLIENTS:
        fallback = TwimlFallback(
            message=None, queue_name=_queue_of(_line_of(to_raw, settings.default_region))
        )
    return Response(after_dial(dial_status, fallback), media_type=TWIML)
