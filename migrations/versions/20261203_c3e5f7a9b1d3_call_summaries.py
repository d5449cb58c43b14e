"""after the call: transcript parts, AI summaries and the durable jobs that make them

Revision ID: c3e5f7a9b1d3
Revises: b2d4f6a8c0e2
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import BigId, UTCDateTime

revision: str = "c3e5f7a9b1d3"
down_revision: str | None = "b2d4f6a8c0e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "transcript_parts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("part_key", sa.String(128), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("speaker", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("call_id", "source", "part_key"),
    )
    op.create_index("ix_transcript_parts_received_at", "transcript_parts", ["received_at"])
    op.create_table(
        "call_summaries",
        sa.Column(
            "call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("sentiment", sa.String(16), nullable=True),
        sa.Column("action_items_json", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("approved_by", sa.String(255), nullable=True),
        sa.Column("approved_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "ai_jobs",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("recording_auth", sa.String(64), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("run_after", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "uq_ai_jobs_pending_call",
        "ai_jobs",
        ["call_id", "kind"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_ai_jobs_status_run_after", "ai_jobs", ["status", "run_after"])
    op.create_index("ix_ai_jobs_call_id", "ai_jobs", ["call_id"])


def downgrade() -> None:
    op.drop_table("ai_jobs")
    op.drop_table("call_summaries")
    op.drop_table("transcript_parts")
