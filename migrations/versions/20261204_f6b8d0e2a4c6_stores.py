"""stores: the stores one Ringcard serves, each with its lines; every install has `default`

Revision ID: f6b8d0e2a4c6
Revises: e5a7c9d1f3b5
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "f6b8d0e2a4c6"
down_revision: str | None = "e5a7c9d1f3b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    stores = op.create_table(
        "stores",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("region", sa.String(2)),
        sa.Column("base_currency", sa.String(3)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("colour", sa.String(7)),
        sa.Column("order_url_template", sa.String(1000)),
        sa.Column("customer_url_template", sa.String(1000)),
        sa.Column("case_url_template", sa.String(1000)),
        sa.Column("loyalty_json", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "store_lines",
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_store_lines_store_id", "store_lines", ["store_id"])
    # The store everything so far belongs to: every field empty, so the settings stay in effect.
    now = datetime.now(UTC)
    op.bulk_insert(stores, [{"id": "default", "name": "Default store", "created_at": now, "updated_at": now}])


def downgrade() -> None:
    op.drop_index("ix_store_lines_store_id", table_name="store_lines")
    op.drop_table("store_lines")
    op.drop_table("stores")
