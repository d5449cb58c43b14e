"""Telnyx transcripts, attached to the call whose `payload.call_control_id` they name:

* `call.transcription`: one utterance of the live transcription (`transcription_start`). Only a
  final one (`transcription_data.is_final`) is kept, under the event's `data.id`, so a redelivery
  or a concurrent one never doubles it; `transcription_track` `inbound` is the caller (what Telnyx
  hears from the call's own leg), `outbound` the agent. Telnyx numbers nothing, so `occurred_at`
  places it in the call.
* `call.recording.transcription.saved`: a recording's whole transcript (`transcription_text`),
  replacing the one sent before.
* `call.recording.saved`: a recording to fetch at once (`recording_urls` expire after 10 minutes)
  and transcribe through RINGCARD_STT_BASE_URL. The links are presigned: no credentials.

The two whole-recording events are taken once per `data.id` (provider_events, in the request's
transaction). A call Ringcard never saw answers 404. Transcripts are never logged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.contracts import Provider
from app.calls.identity import call_id_for
from app.calls.recording import first_delivery
from app.db import utcnow
from app.summaries.jobs import JobKind
from app.summaries.recordings import take_recording
from app.summaries.transcripts import (
    Segment,
    TranscriptSource,
    add_part,
    call_exists,
    replace_transcript,
)
from app.telephony.fields import call_id_problem

PROVIDER = Provider.TELNYX
TRANSCRIPTION = "call.transcription"
RECORDING_TRANSCRIPTION_SAVED = "call.recording.transcription.saved"
RECORDING_SAVED = "call.recording.saved"
EVENT_TYPES = frozenset({TRANSCRIPTION, RECORDING_TRANSCRIPTION_SAVED, RECORDING_SAVED})

SPEAKER_OF_TRACK = {"inbound": "customer", "outbound": "agent"}
# Which recording link is fetched first: mp3 is a tenth of the wav's size, quicker to fetch and
# to send to speech-to-text. The presigned links come before the public ones.
_RECORDING_LINKS = (("recording_urls", "mp3"), ("recording_urls", "wav"))
_PUBLIC_LINKS = (("public_recording_urls", "mp3"), ("public_recording_urls", "wav"))


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, message)


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _unprocessable(f"{name} must be a JSON object")
    return value


def _text(container: dict[str, Any], name: str, path: str) -> str:
    value = container.get(name)
    if value is None:
        raise _unprocessable(f"missing {path}.{name}")
    if not isinstance(value, str):
        raise _unprocessable(f"{path}.{name} must be text")
    return value


def _id(container: dict[str, Any], name: str, path: str) -> str:
    value = _text(container, name, path).strip()
    if not value:
        raise _unprocessable(f"{path}.{name} is empty")
    if (problem := call_id_problem(value, f"{path}.{name}")) is not None:
        raise _unprocessable(problem)
    return value


async def _known_call(session: AsyncSession, call_control_id: str) -> str:
    call_id = call_id_for(PROVIDER, call_control_id)
    if not await call_exists(session, call_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no call with call_control_id {call_control_id[:64]!r}: a transcript follows the call's "
            "call.initiated",
        )
    return call_id


def _position(data: dict[str, Any]) -> float:
    """Where an utterance goes in the call: when it happened (Unix seconds), by Telnyx's clock;
    when it arrived, if `occurred_at` is absent or unreadable (it only orders utterances)."""
    stamp = data.get("occurred_at")
    if isinstance(stamp, str):
        try:
            at = datetime.fromisoformat(stamp)
        except ValueError:
            pass
        else:
            return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    return utcnow().timestamp()


def _recording_url(payload: dict[str, Any]) -> str:
    for field, kind in (*_RECORDING_LINKS, *_PUBLIC_LINKS):
        links = payload.get(field)
        url = links.get(kind) if isinstance(links, dict) else None
        if isinstance(url, str) and url.strip():
            return url.strip()
    raise _unprocessable("data.payload.recording_urls has neither an mp3 nor a wav link")


async def take_transcript_event(session: AsyncSession, data: dict[str, Any]) -> JobKind | None:
    """Keep what a transcript event (`data.event_type` in `EVENT_TYPES`) carries. Returns the job
    kind this asked for, so the route can wake the worker once it has committed; None when it
    asked for nothing now (a partial result, a redelivery, a stream still speaking)."""
    event_type = _text(data, "event_type", "data")
    event_id = _id(data, "id", "data")
    payload = _object(data.get("payload"), "data.payload")
    call_control_id = _id(payload, "call_control_id", "data.payload")
    if event_type == TRANSCRIPTION:
        transcription = _object(payload.get("transcription_data"), "data.payload.transcription_data")
        if transcription.get("is_final") is not True:  # an interim result the final one replaces
            return None
        transcript = _text(transcription, "transcript", "data.payload.transcription_data")
        track = transcription.get("transcription_track")
        segment = Segment(transcript, SPEAKER_OF_TRACK.get(track) if isinstance(track, str) else None)
        call_id = await _known_call(session, call_control_id)
        await add_part(
            session, call_id, TranscriptSource.TELNYX_REALTIME, event_id, segment, position=_position(data)
        )
        return None
    if event_type == RECORDING_TRANSCRIPTION_SAVED:
        call_id = await _known_call(session, call_control_id)
        if payload.get("status") not in (None, "completed"):  # no transcript came of it
            return None
        text = _text(payload, "transcription_text", "data.payload")
        if not await first_delivery(session, PROVIDER.value, event_id):
            return None
        stored = await replace_transcript(
            session, call_id, TranscriptSource.TELNYX_RECORDING, [Segment(text)]
        )
        return JobKind.SUMMARISE if stored else None
    if event_type == RECORDING_SAVED:
        url = _recording_url(payload)
        call_id = await _known_call(session, call_control_id)
        if not await first_delivery(session, PROVIDER.value, event_id):
            return None
        if not await take_recording(session, call_id, url, auth=None):
            raise _unprocessable("data.payload.recording_urls holds no http(s) link")
        return JobKind.TRANSCRIBE
    raise ValueError(f"not a transcript event: {event_type!r}")
