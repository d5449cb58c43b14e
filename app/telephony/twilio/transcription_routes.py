"""Twilio transcripts, attached to the call they belong to (matched by `CallSid`):

* `POST /webhooks/twilio/transcription`: the `transcribeCallback` of a `<Record transcribe="true">`
  (a store's own TwiML: Ringcard's never records that way). `TranscriptionStatus` `completed`
  carries the whole `TranscriptionText`; `failed` stores nothing.
* `POST /webhooks/twilio/realtime-transcription`: the `statusCallbackUrl` of the
  `<Start><Transcription>` the voice TwiML starts with when RINGCARD_TWILIO_TRANSCRIBE is on. Each
  final `transcription-content` is one utterance (`TranscriptionData` is a JSON string with
  `transcript` and `confidence`), placed by its `SequenceId` and said by whoever its `Track` is;
  partial results are ignored, and `transcription-stopped` asks for the summary at once.
* `POST /webhooks/twilio/recording`: the dial's `recordingStatusCallback`; a `completed`
  recording is fetched and transcribed (RINGCARD_STT_BASE_URL), with the account's credentials.

Every one is signed like the other Twilio webhooks (`TwilioParams`), answers 404 for a call
Ringcard never saw (its voice webhook comes first) and is written in the request's transaction,
so a failure answers 5xx and Twilio's retry finds nothing half done. Transcripts are never logged.
"""

from __future__ import annotations

import logging
import re

import orjson
from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.calls.contracts import Provider
from app.calls.identity import call_id_for
from app.calls.recording import first_delivery
from app.deps import SessionDep
from app.summaries.jobs import JobKind
from app.summaries.recordings import take_recording
from app.summaries.routes import wake_after_commit
from app.summaries.transcripts import (
    Segment,
    TranscriptSource,
    add_part,
    call_exists,
    replace_transcript,
)
from app.telephony.fields import whole_number
from app.telephony.twilio.params import TwilioParams, required, sid_of, text_of, unprocessable
from app.web.openapi import form_body, merged, secured_by
from app.web.provider_fields import (
    TWILIO_REALTIME_TRANSCRIPTION_FIELDS,
    TWILIO_RECORDING_FIELDS,
    TWILIO_TRANSCRIPTION_FIELDS,
    twilio_responses,
)

log = logging.getLogger("ringcard.webhooks.twilio")
router = APIRouter(prefix="/webhooks/twilio", tags=["telephony"])

PROVIDER = Provider.TWILIO
TRANSCRIPTION_PATH = "/webhooks/twilio/transcription"
REALTIME_TRANSCRIPTION_PATH = "/webhooks/twilio/realtime-transcription"
RECORDING_PATH = "/webhooks/twilio/recording"

# The transcription runs on the caller's call: its inbound track is what Twilio hears from the
# caller, its outbound track what Twilio plays to them (the agent the dial connected).
SPEAKER_OF_TRACK = {"inbound_track": "customer", "outbound_track": "agent"}
# SequenceId becomes the part's position (a float): beyond 2**53 two ids could share one.
MAX_SEQUENCE_ID = 10**12
LANGUAGE_MAX = 16  # transcript_parts.language
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")

_NO_CONTENT = status.HTTP_204_NO_CONTENT


def _responses(done: str) -> dict[int | str, dict[str, str]]:
    return {
        **twilio_responses({_NO_CONTENT: {"description": done}}),
        404: {
            "description": "no call with this `CallSid` (its voice webhook comes first), or Twilio is "
            "switched off: `RINGCARD_TWILIO_AUTH_TOKEN` is not set"
        },
    }


async def _known_call(session: AsyncSession, call_sid: str) -> str:
    """Our id of the call `CallSid` names; 404 when Ringcard never saw that call."""
    call_id = call_id_for(PROVIDER, call_sid)
    if not await call_exists(session, call_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no call with CallSid {call_sid[:64]!r}: a transcript follows the call's voice webhook",
        )
    return call_id


def _sequence_id(params: FormData) -> int:
    sequence = whole_number(required(params, "SequenceId"), MAX_SEQUENCE_ID)
    if sequence is None:
        raise unprocessable(f"SequenceId must be a whole number from 0 to {MAX_SEQUENCE_ID}")
    return sequence


def _transcript_of(params: FormData) -> str:
    """`TranscriptionData`'s `transcript`: the JSON string's only field Ringcard keeps."""
    try:
        data = orjson.loads(required(params, "TranscriptionData"))
    except orjson.JSONDecodeError:
        raise unprocessable("TranscriptionData is not JSON") from None
    transcript = data.get("transcript") if isinstance(data, dict) else None
    if not isinstance(transcript, str):
        raise unprocessable('TranscriptionData must be a JSON object with a "transcript" text')
    return transcript


def _language_of(params: FormData) -> str | None:
    language = text_of(params, "LanguageCode").strip().lower()
    return language if 0 < len(language) <= LANGUAGE_MAX else None


@router.post(
    TRANSCRIPTION_PATH.removeprefix(router.prefix),
    status_code=_NO_CONTENT,
    response_class=Response,
    summary="Twilio: a recording's transcript (<Record transcribeCallback>)",
    responses=_responses("stored (a redelivery changes nothing), or nothing to store (`failed`)"),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_TRANSCRIPTION_FIELDS,
            required=["CallSid", "TranscriptionSid", "TranscriptionStatus"],
            description='Twilio\'s transcribeCallback for a `<Record transcribe="true">`',
        ),
    ),
)
async def transcription_callback(
    params: TwilioParams, session: SessionDep, request: Request, tasks: BackgroundTasks
) -> Response:
    """The whole transcript of a recording the call made: the call's transcript from this source,
    replacing what it sent before."""
    call_sid = sid_of(params)
    transcription_sid = sid_of(params, "TranscriptionSid")
    transcription_status = required(params, "TranscriptionStatus").lower()
    call_id = await _known_call(session, call_sid)
    if transcription_status != "completed":
        log.info(
            "Twilio could not transcribe a recording of call %s (%s)", call_sid, transcription_status[:20]
        )
        return Response(status_code=_NO_CONTENT)
    if not await first_delivery(session, PROVIDER.value, f"{call_sid}:transcription:{transcription_sid}"):
        return Response(status_code=_NO_CONTENT)
    # Who spoke is not said: a <Record> hears whoever is on the call's own leg.
    segment = Segment(text_of(params, "TranscriptionText"))
    if await replace_transcript(session, call_id, TranscriptSource.TWILIO_RECORDING, [segment]):
        wake_after_commit(request, tasks, JobKind.SUMMARISE)
    return Response(status_code=_NO_CONTENT)


@router.post(
    REALTIME_TRANSCRIPTION_PATH.removeprefix(router.prefix),
    status_code=_NO_CONTENT,
    response_class=Response,
    summary="Twilio: a real-time transcription event (<Start><Transcription>)",
    responses=_responses(
        "stored (a redelivery changes nothing), or nothing to store (a partial result, the start)"
    ),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_REALTIME_TRANSCRIPTION_FIELDS,
            required=["CallSid", "TranscriptionEvent"],
            description="The statusCallbackUrl of the `<Start><Transcription>` the voice TwiML starts with",
        ),
    ),
)
async def realtime_transcription_callback(
    params: TwilioParams, session: SessionDep, request: Request, tasks: BackgroundTasks
) -> Response:
    """One event of the call's live transcription: a final utterance is kept under its
    `SequenceId`, so concurrent and repeated deliveries keep each one once and in order."""
    call_sid = sid_of(params)
    event = required(params, "TranscriptionEvent").lower()
    if event == "transcription-content":
        # Partial results are guesses the final result replaces: they never touch the database.
        if text_of(params, "Final").strip().lower() != "true":
            return Response(status_code=_NO_CONTENT)
        transcription_sid = sid_of(params, "TranscriptionSid")
        sequence = _sequence_id(params)
        segment = Segment(_transcript_of(params), SPEAKER_OF_TRACK.get(text_of(params, "Track").strip()))
        call_id = await _known_call(session, call_sid)
        await add_part(
            session,
            call_id,
            TranscriptSource.TWILIO_REALTIME,
            f"{transcription_sid}:{sequence}",
            segment,
            position=float(sequence),
            language=_language_of(params),
        )
    elif event == "transcription-stopped":
        transcription_sid = sid_of(params, "TranscriptionSid")
        call_id = await _known_call(session, call_sid)
        if await first_delivery(
            session, PROVIDER.value, f"{call_sid}:transcription:{transcription_sid}:stopped"
        ):
            # No words: the stream is over, so the summary is asked for now instead of once the
            # stream has been quiet for a while.
            await add_part(
                session,
                call_id,
                TranscriptSource.TWILIO_REALTIME,
                f"{transcription_sid}:stopped",
                Segment(""),
                position=0.0,
                last=True,
            )
            wake_after_commit(request, tasks, JobKind.SUMMARISE)
    elif event == "transcription-error":
        log.warning(
            "Twilio's real-time transcription of call %s failed: %s",
            call_sid,
            text_of(params, "TranscriptionError")[:200] or "no reason given",
        )
    # transcription-started, and any event Twilio adds later: nothing to keep.
    return Response(status_code=_NO_CONTENT)


@router.post(
    RECORDING_PATH.removeprefix(router.prefix),
    status_code=_NO_CONTENT,
    response_class=Response,
    summary="Twilio: the dial's recording is ready (<Dial recordingStatusCallback>)",
    responses=_responses(
        "taken to be transcribed (a redelivery changes nothing), or nothing to take (not `completed`)"
    ),
    openapi_extra=merged(
        secured_by("twilioSignature"),
        form_body(
            TWILIO_RECORDING_FIELDS,
            required=["CallSid", "RecordingStatus"],
            description="The recordingStatusCallback the voice TwiML names when it records the dial",
        ),
    ),
)
async def recording_callback(
    params: TwilioParams, session: SessionDep, request: Request, tasks: BackgroundTasks
) -> Response:
    """A completed recording of the call: fetched with the account's credentials and turned into
    the call's transcript by speech-to-text, off the request path."""
    call_sid = sid_of(params)
    recording_status = required(params, "RecordingStatus").lower()
    call_id = await _known_call(session, call_sid)
    if recording_status != "completed":  # in-progress, absent (silence), failed
        return Response(status_code=_NO_CONTENT)
    recording_sid = sid_of(params, "RecordingSid")
    url = required(params, "RecordingUrl")
    account_sid = required(params, "AccountSid")
    if not _ACCOUNT_SID.fullmatch(account_sid):
        raise unprocessable("AccountSid must be AC followed by 32 hexadecimal digits")
    if not await first_delivery(session, PROVIDER.value, f"{call_sid}:recording:{recording_sid}"):
        return Response(status_code=_NO_CONTENT)
    if not await take_recording(session, call_id, url, auth=f"twilio:{account_sid}"):
        raise unprocessable("RecordingUrl is not an http(s) URL")
    wake_after_commit(request, tasks, JobKind.TRANSCRIBE)
    return Response(status_code=_NO_CONTENT)
