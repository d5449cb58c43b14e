"""What a call leaves after it: transcript parts, the AI summary, and the durable jobs that make
them (docs/summaries.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import text

from app.db import Base, BigId, UTCDateTime

PENDING_JOBS_PREDICATE = "status = 'pending'"


class TranscriptPart(Base):
    """One piece of a call's transcript, as one source sent it: a whole transcript is one part (or
    one per segment), a real-time stream one part per final utterance. Parts are only ever
    inserted under their key, so concurrent and repeated deliveries neither lose nor double text.
    Every text here is already redacted (app/summaries/redaction.py)."""

    __tablename__ = "transcript_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(32), ForeignKey("calls.id", ondelete="CASCADE"))
    # twilio-recording, twilio-realtime, telnyx-realtime, telnyx-recording, api, stt
    source: Mapped[str] = mapped_column(String(32))
    # Unique within the call and source: a segment's index, a SequenceId, an event id.
    part_key: Mapped[str] = mapped_column(String(128))
    position: Mapped[float] = mapped_column(Float)  # order in the call: start_s, or the sequence
    speaker: Mapped[str | None] = mapped_column(String(16))  # customer | agent | None (unknown)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("call_id", "source", "part_key"),
        Index("ix_transcript_parts_received_at", "received_at"),
    )


class CallSummary(Base):
    """The AI's draft of what the call was about, until an agent approves it into the call's note."""

    __tablename__ = "call_summaries"

    call_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))  # pending | ready | failed | approved
    text: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(64))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    action_items_json: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)  # why the last attempt failed, for the agent
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AiJob(Base):
    """A transcription or summary to make, kept in the database so that it survives restarts and
    is done by one instance: pending → running → done | failed."""

    __tablename__ = "ai_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # transcribe | summarise
    call_id: Mapped[str] = mapped_column(String(32), ForeignKey("calls.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # transcribe: where the recording is, and whose credentials fetch it (twilio | none).
    recording_url: Mapped[str | None] = mapped_column(Text)
    recording_auth: Mapped[str | None] = mapped_column(String(64))
    # summarise: the language to write in.
    language: Mapped[str | None] = mapped_column(String(16))
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One waiting job of a kind per call: a later transcript part moves its time, not a copy.
        Index(
            "uq_ai_jobs_pending_call",
            "call_id",
            "kind",
            unique=True,
            postgresql_where=text(PENDING_JOBS_PREDICATE),
            sqlite_where=text(PENDING_JOBS_PREDICATE),
        ),
        Index("ix_ai_jobs_status_run_after", "status", "run_after"),
        Index("ix_ai_jobs_call_id", "call_id"),
    )
