"""insights: what each call was about (call_topics) and the indexes the stats read by

Revision ID: d4f6a8b0c2e4
Revises: c3e5f7a9b1d3
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "d4f6a8b0c2e4"
down_revision: str | None = "c3e5f7a9b1d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_topics",
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("call_id", "kind", "key"),
    )
    op.create_index("ix_call_topics_kind_started_at", "call_topics", ["kind", "started_at"])
    # Calls again from the same number (repeat rate, call-backs): by number, then time.
    op.create_index("ix_calls_from_e164_started_at", "calls", ["from_e164", "started_at"])
    # Call-backs: outbound calls by the number dialled, then time (a few of all calls).
    op.create_index(
        "ix_calls_outbound_to_raw_started_at",
        "calls",
        ["to_raw", "started_at"],
        postgresql_where=sa.text("direction = 'out'"),
        sqlite_where=sa.text("direction = 'out'"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_outbound_to_raw_started_at", table_name="calls")
    op.drop_index("ix_calls_from_e164_started_at", table_name="calls")
    op.drop_table("call_topics")
