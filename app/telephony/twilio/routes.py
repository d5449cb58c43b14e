"""Twilio Programmable Voice: the incoming-call webhook (answers TwiML at once), the status,
leg and dial callbacks. Verified per PROTOCOLS.md and read by app/telephony/twilio/params.py;
turned into CallEvents for the shared state machine here."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response, status

from app.calls.contracts import Provider
from app.calls.directory import AgentDirectory
from app.calls.events import CallEvent, CallState, EventKind
from app.calls.identity import call_id_for
from app.db import utcnow
from app.deps import Directory, Intake, SettingsDep
from app.kit.lines import line_key
from app.kit.masking import mask_phone
from app.settings import TwilioRouting
from app.telephony.twilio.params import (
    TwilioParams,
    direction_of,
    duration_of,
    required,
    sequence_of,
    sid_of,
    text_of,
    unprocessable,
    when_of,
)
from app.telephony.twilio.transcription_routes import REALTIME_TRANSCRIPTION_PATH, RECORDING_PATH
from app.telephony.twilio.twiml import (
    Transcribing,
    TwimlFallback,
    after_dial,
    enqueue,
    fallback_response,
    forward,
    ring_clients,
)
from app.web.openapi import form_body, merged, query_fields, secured_by, text_answer
from app.web.provider_fields import (
    CALL_LOG_FULL,
    TWILIO_DIAL_FIELDS,
    TWILIO_LEG_FIELDS,
    TWILIO_STATUS_FIELDS,
    TWILIO_VOICE_FIELDS,
    TWIML_AFTER_DIAL_EXAMPLE,
    TWIML_RING_EXAMPLE,
    twilio_responses,
)

log = logging.getLogger("ringcard.webhooks.twilio")
router = APIRouter(prefix="/webhooks/twilio", tags=["telephony"])

PROVIDER = Provider.TWILIO
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
async def incoming_call(
    request: Request, params: TwilioParams, settings: SettingsDep, intake: Intake, directory: Directory
) -> Response:
    """Answers TwiML at once; recording, lookup and the pop happen after, in the background."""
    call_sid = sid_of(params)
    from_raw = text_of(params, "From") or text_of(params, "Caller")
    to_raw = text_of(params, "To") or text_of(params, "Called")
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=EventKind.RINGING,
        at=utcnow(),
        direction=direction_of(params),
        from_raw=from_raw,
        to_raw=to_raw,
        event_key=f"{call_sid}:voice",
    )
    log.info("incoming Twilio call %s from %s", call_sid, mask_phone(from_raw))
    try:
        intake.submit(event, intake.parties(event))
        # The recording and the lookup send their first statements before the TwiML is built and
        # written: the pop waits on the database, Twilio's answer does not (about 1 ms sooner).
        await asyncio.sleep(0)
        twiml = await _route(
            request,
            directory,
            settings.twilio_routing,
            call_sid,
            to_raw,
            settings.default_region,
            settings.twilio_forward_to,
            settings.public_url,
            transcribe=settings.twilio_transcribe,
        )
    except Exception:
        log.exception("TwiML routing failed; answering the fallback")
        twiml = fallback_response()
    return Response(twiml, media_type=TWIML)


async def _route(
    request: Request,
    directory: AgentDirectory,
    routing: TwilioRouting,
    call_sid: str,
    to_raw: str,
    region: str,
    forward_to: str | None,
    public_url: str | None,
    *,
    transcribe: bool = False,
) -> str:
    base = callback_base(request, public_url)
    # RINGCARD_TWILIO_TRANSCRIBE: transcribe the call live, and record the dial for a transcript
    # made from the recording (app/telephony/twilio/transcription_routes.py).
    transcribing = (
        Transcribing(base + REALTIME_TRANSCRIPTION_PATH, base + RECORDING_PATH) if transcribe else None
    )
    if routing is TwilioRouting.FORWARD and forward_to:
        return forward(
            forward_to,
            action_url=base + DIAL_PATH,
            status_callback=base + LEG_PATH,
            transcribing=transcribing,
        )
    line = _line_of(to_raw, region)
    if routing is TwilioRouting.ENQUEUE:
        return enqueue(_queue_of(line), transcribing=transcribing)
    identities = await directory.agents_for(line)
    return ring_clients(
        identities[:10],
        {"ringcard_call_id": call_id_for(PROVIDER, call_sid)},
        fallback=TwimlFallback(message=None, queue_name=_queue_of(line)),
        action_url=base + DIAL_PATH,
        status_callback=base + LEG_PATH,
        transcribing=transcribing,
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
async def status_callback(params: TwilioParams, intake: Intake) -> Response:
    call_sid = sid_of(params)
    call_status = required(params, "CallStatus").lower()
    if call_status not in _STATUS_EVENTS:
        raise unprocessable(f"unknown CallStatus {call_status[:40]!r}")
    kind, ended_as = _STATUS_EVENTS[call_status]
    sequence = sequence_of(params)
    duration = duration_of(params)
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=kind,
        at=when_of(params),
        direction=direction_of(params),
        from_raw=text_of(params, "From"),
        to_raw=text_of(params, "To"),
        # Twilio gives no ordering guarantee: (CallSid, SequenceNumber) names one delivery.
        event_key=f"{call_sid}:status:{sequence}" if sequence else f"{call_sid}:status:{call_status}",
        ended_as=ended_as,
        end_cause=call_status if kind is EventKind.ENDED and call_status != "completed" else None,
        duration_s=duration,
    )
    await intake.record(event, intake.parties(event))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _answered_by(directory: AgentDirectory, leg_to: str) -> str | None:
    """Who took the call, as agents know them: a `client:<identity>` leg is the agent whose
    username the identity is (Twilio Voice SDK identity = Ringcard username); a number or SIP leg
    is that number or address."""
    to = leg_to.strip()
    if not to:
        return None
    if to.lower().startswith("client:"):
        identity = to[len("client:") :]
        known = directory.display_name(identity)
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
async def leg_callback(params: TwilioParams, intake: Intake, directory: Directory) -> Response:
    """A dialled leg's progress (statusCallback on each `<Client>`/`<Number>`), mapped onto the
    caller's call (`ParentCallSid`): its answer says who answered and when, its end how long they
    talked."""
    leg_sid = sid_of(params)
    parent_sid = sid_of(params, "ParentCallSid")
    leg_status = required(params, "CallStatus").lower()
    if leg_status not in _LEG_STATUSES:
        raise unprocessable(f"unknown CallStatus {leg_status[:40]!r}")
    sequence = sequence_of(params)
    duration = duration_of(params)
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
        at=when_of(params),
        event_key=f"{parent_sid}:leg:{leg_sid}:{sequence or leg_status}",
        ended_as=ended_as,
        duration_s=duration,
        answered_by=_answered_by(directory, text_of(params, "To") or text_of(params, "Called")),
    )
    await intake.record(event, intake.parties(event))
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
async def dial_action(params: TwilioParams, settings: SettingsDep, intake: Intake) -> Response:
    """The `<Dial action>`: how the dial ended (`DialCallStatus`), and the TwiML that follows it.
    A dial nobody answered makes the call missed; the caller then waits in the line's queue."""
    call_sid = sid_of(params)
    dial_status = required(params, "DialCallStatus").lower()
    if dial_status not in _DIAL_CONNECTED | _DIAL_UNANSWERED:
        raise unprocessable(f"unknown DialCallStatus {dial_status[:40]!r}")
    to_raw = text_of(params, "To") or text_of(params, "Called")
    talked = dial_status in _DIAL_CONNECTED
    seconds = duration_of(params, "DialCallDuration")
    event = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_sid,
        kind=EventKind.ENDED,
        at=when_of(params),
        direction=direction_of(params),
        from_raw=text_of(params, "From") or text_of(params, "Caller"),
        to_raw=to_raw,
        event_key=f"{call_sid}:dial",
        ended_as=CallState.COMPLETED if talked else CallState.MISSED,
        end_cause=None if talked else dial_status,
        duration_s=seconds if talked else None,
    )
    # The caller is waiting for the next TwiML: recording happens behind the answer.
    intake.submit(event, intake.parties(event))
    fallback = None
    if not talked and settings.twilio_routing is TwilioRouting.CLIENTS:
        fallback = TwimlFallback(
            message=None, queue_name=_queue_of(_line_of(to_raw, settings.default_region))
        )
    return Response(after_dial(dial_status, fallback), media_type=TWIML)
