"""integration status: deliveries per source, minute and outcome; the last of each kind

Revision ID: e6cdbaa7fe4b
Revises: 8e4d1a6b2c90
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "e6cdbaa7fe4b"
down_revision: str | None = "8e4d1a6b2c90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_counts",
        sa.Column("minute", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "source", "outcome", name=op.f("pk_integration_counts")),
    )
    op.create_table(
        "integration_last",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("what", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("source", "kind", name=op.f("pk_integration_last")),
    )


def downgrade() -> None:
    op.drop_table("integration_last")
    op.drop_table("integration_counts")
