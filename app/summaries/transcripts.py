"""Writing and reading a call's transcript. Every writer goes through here, so every text is
redacted before it is stored (and so before it is ever sent to a model), and every transcript
that arrives asks for the call's summary.

A whole transcript from one source replaces what that source sent before (a redelivery, a
corrected version); a real-time part is inserted under its key, so concurrent and repeated
deliveries of a stream keep every utterance once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.db import table_of, upsert_insert, utcnow
from app.summaries.jobs import JobKind, enqueue
from app.summaries.models import TranscriptPart
from app.summaries.redaction import redact, redact_segments

TEXT_MAX = 200_000  # characters of one part: a two-hour call, spoken fast
SPEAKERS = ("customer", "agent")
# A stream's summary waits for the stream to go quiet: each new part moves it this much later.
STREAM_SETTLE = timedelta(seconds=20)


class TranscriptSource(StrEnum):
    API = "api"  # POST /api/v1/calls/{call_id}/transcript (any PBX)
    STT = "stt"  # a recording transcribed through RINGCARD_STT_BASE_URL
    TWILIO_RECORDING = "twilio-recording"  # Twilio's transcribeCallback
    TWILIO_REALTIME = "twilio-realtime"  # <Start><Transcription> events
    TELNYX_RECORDING = "telnyx-recording"  # call.recording.transcription.saved
    TELNYX_REALTIME = "telnyx-realtime"  # call.transcription

    @property
    def streams(self) -> bool:
        return self in (TranscriptSource.TWILIO_REALTIME, TranscriptSource.TELNYX_REALTIME)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    speaker: str | None = None  # customer | agent | None when the source does not say
    start_s: float | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """A call's transcript as agents and the model see it: one source's parts, in call order."""

    source: str
    language: str | None
    segments: list[Segment]
    updated_at: datetime

    @property
    def text(self) -> str:
        return "\n".join(
            f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text
            for segment in self.segments
        )


def _clean(text: str) -> str:
    return redact(text.strip())[:TEXT_MAX]


# What erasure leaves of a call's caller (app/store/erasures.py): such a call takes no transcript.
ERASED_CALLER = "erased"


async def call_exists(session: AsyncSession, call_id: str) -> bool:
    return await session.scalar(select(Call.id).where(Call.id == call_id)) is not None


async def _lock_call(session: AsyncSession, call_id: str) -> bool:
    """Lock the call's row for the transcript's write; False when the call is gone or its
    caller was erased. The lock orders this write with an erasure of the same call: either the
    erasure comes after and removes what is written here, or it came first and nothing is."""
    caller = await session.scalar(select(Call.from_raw).where(Call.id == call_id).with_for_update())
    return caller is not None and caller != ERASED_CALLER


async def replace_transcript(
    session: AsyncSession,
    call_id: str,
    source: TranscriptSource,
    segments: Sequence[Segment],
    *,
    language: str | None = None,
) -> int:
    """The whole transcript of the call from `source`, in place of what it sent before. Returns
    how many parts were stored; a transcript with no words stores nothing and asks for nothing.
    The caller has checked that the call exists."""
    now = utcnow()
    # Redacted as one conversation: the code in the answer to "what's the CVV?" goes too.
    texts = redact_segments([segment.text.strip() for segment in segments])
    rows = [
        {
            "call_id": call_id,
            "source": source.value,
            "part_key": str(index),
            "position": segment.start_s if segment.start_s is not None else float(index),
            "speaker": segment.speaker,
            "text": text,
            "language": language,
            "received_at": now,
        }
        for index, (segment, redacted) in enumerate(zip(segments, texts, strict=True))
        if (text := redacted[:TEXT_MAX])
    ]
    # Lock the call's row first: two deliveries of one source replace each other whole, in turn.
    if not await _lock_call(session, call_id):
        return 0
    await session.execute(
        delete(TranscriptPart)
        .where(TranscriptPart.call_id == call_id, TranscriptPart.source == source.value)
        .execution_options(synchronize_session=False)
    )
    if not rows:
        return 0
    await session.execute(upsert_insert(session, table_of(TranscriptPart)).values(rows))
    await enqueue(session, JobKind.SUMMARISE, call_id, run_after=now)
    return len(rows)


async def add_part(
    session: AsyncSession,
    call_id: str,
    source: TranscriptSource,
    part_key: str,
    segment: Segment,
    *,
    position: float,
    language: str | None = None,
    last: bool = False,
) -> bool:
    """One utterance of a real-time stream. Returns whether it was new. The summary is asked for
    once the stream settles (or at once, when the source says the stream stopped: `last`)."""
    now = utcnow()
    text = _clean(segment.text)
    inserted = False
    if not await _lock_call(session, call_id):
        return False
    if text:
        statement = (
            upsert_insert(session, table_of(TranscriptPart))
            .values(
                call_id=call_id,
                source=source.value,
                part_key=part_key[:128],
                position=position,
                speaker=segment.speaker,
                text=text,
                language=language,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["call_id", "source", "part_key"])
        )
        inserted = bool(getattr(await session.execute(statement), "rowcount", 0))
    if inserted or last:
        when = now if last else now + STREAM_SETTLE
        await enqueue(session, JobKind.SUMMARISE, call_id, run_after=when, sooner=last)
    return inserted


async def transcript_of(session: AsyncSession, call_id: str) -> Transcript | None:
    """The call's transcript: a whole one (the newest such source) before a real-time stream's,
    which is what it was transcribed from while the call went on."""
    parts = (
        await session.scalars(
            select(TranscriptPart)
            .where(TranscriptPart.call_id == call_id)
            .order_by(TranscriptPart.position, TranscriptPart.id)
        )
    ).all()
    if not parts:
        return None
    by_source: dict[str, list[TranscriptPart]] = {}
    for part in parts:
        by_source.setdefault(part.source, []).append(part)

    def rank(source: str) -> tuple[bool, datetime]:
        return (not TranscriptSource(source).streams, max(p.received_at for p in by_source[source]))

    chosen = max(by_source, key=rank)
    chosen_parts = by_source[chosen]
    return Transcript(
        source=chosen,
        language=next((p.language for p in chosen_parts if p.language), None),
        segments=[Segment(p.text, p.speaker, p.position) for p in chosen_parts],
        updated_at=max(p.received_at for p in chosen_parts),
    )
