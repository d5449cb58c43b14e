"""live calls by when they were last heard of (quiet-call sweep, snapshots)

Revision ID: 8e4d1a6b2c90
Revises: 3f9b2c7d1e4a
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e4d1a6b2c90"
down_revision: str | None = "3f9b2c7d1e4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_CALLS = "state IN ('ringing', 'answered')"


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_live_updated_at",
            ["state", "updated_at"],
            unique=False,
            postgresql_where=sa.text(LIVE_CALLS),
            sqlite_where=sa.text(LIVE_CALLS),
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_live_updated_at")
