"""The integration status tables: counts per source, minute and outcome, and the last delivery of
each kind per source. Every instance adds to them (ON CONFLICT ... DO UPDATE), so the status is the
same whichever instance behind the load balancer answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

# integration_last.kind
RECEIVED = "received"  # the newest delivery, whatever became of it
ACCEPTED = "accepted"  # the newest one taken (for the store sync API: its last write)
REJECTED = "rejected"  # the newest refusal (a 422 included)
AUTH_FAILURE = "auth_failure"  # the newest signature or key failure


class IntegrationCount(Base):
    """How many deliveries of one outcome a source made in one minute (UTC, seconds zeroed)."""

    __tablename__ = "integration_counts"

    minute: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)

    # Minute first: the status reads, and the retention deletes, a range of minutes.
    __table_args__ = (PrimaryKeyConstraint("minute", "source", "outcome"),)


class IntegrationLast(Base):
    """The newest delivery of one kind (see the constants above) from one source."""

    __tablename__ = "integration_last"

    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    what: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (PrimaryKeyConstraint("source", "kind"),)
