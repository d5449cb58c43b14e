"""The call log and the provider events already seen (for de-duplication)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import text

from app.db import Base, BigId, UTCDateTime

LIVE_CALLS_PREDICATE = "state IN ('ringing', 'answered')"
OUTBOUND_PREDICATE = "direction = 'out'"


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # ours, in URLs and envelopes
    provider: Mapped[str] = mapped_column(String(16))
    provider_call_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    from_raw: Mapped[str] = mapped_column(String(255))
    from_e164: Mapped[str | None] = mapped_column(String(20))
    to_raw: Mapped[str] = mapped_column(String(255))
    # Outbound calls: the number dialled as E.164 (app/calls/follow_ups.py), set as the call ends.
    to_e164: Mapped[str | None] = mapped_column(String(20))
    line: Mapped[str] = mapped_column(String(64), index=True)
    # The store of the line when the call came in (NULL: logged before stores, the default one).
    store_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    end_cause: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_s: Mapped[int | None] = mapped_column(Integer)
    talking_s: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    customer_external_id: Mapped[str | None] = mapped_column(String(255))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    match_status: Mapped[str | None] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Missed inbound calls are to-do until an agent marks them done.
    done: Mapped[bool] = mapped_column(Boolean, default=True)
    # Followed up (app/calls/follow_ups.py): the number called in again within 7 days; a call
    # went out to it within 24 h. Set as calls end, for the insights.
    called_again: Mapped[bool] = mapped_column(Boolean, default=False)
    called_back: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str | None] = mapped_column(String(64))
    noted_by: Mapped[str | None] = mapped_column(String(255))
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Orders the envelopes of this call for agents (docs/push.md), across instances and restarts.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # The card as it was at ring time, so answer/hang-up envelopes and snapshots carry it.
    card_json: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("provider", "provider_call_id"),
        Index("ix_calls_started_at", "started_at"),
        # The call log and the KPIs of one store.
        Index("ix_calls_store_id_started_at", "store_id", "started_at"),
        Index("ix_calls_customer_id_started_at", "customer_id", "started_at"),
        Index("ix_calls_from_e164_started_at", "from_e164", "started_at"),
        Index(
            "ix_calls_outbound_to_e164_started_at",
            "to_e164",
            "started_at",
            postgresql_where=text(OUTBOUND_PREDICATE),
            sqlite_where=text(OUTBOUND_PREDICATE),
        ),
        # Live calls by when they were last heard of: the quiet-call sweep and the snapshots.
        Index(
            "ix_calls_live_updated_at",
            "state",
            "updated_at",
            postgresql_where=text(LIVE_CALLS_PREDICATE),
            sqlite_where=text(LIVE_CALLS_PREDICATE),
        ),
    )


class CallTopic(Base):
    """What an offered call (inbound, not blocked) was about, from its card (app/calls/topics.py):
    for the insights."""

    __tablename__ = "call_topics"

    call_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # reason | order | product | case
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    # The call's start, kept here so that a period's topics are one range scan of this table.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_call_topics_kind_started_at", "kind", "started_at"),)


class ProviderEvent(Base):
    """Every provider event once: a redelivery finds its key here and changes nothing."""

    __tablename__ = "provider_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("provider", "event_key"),)
