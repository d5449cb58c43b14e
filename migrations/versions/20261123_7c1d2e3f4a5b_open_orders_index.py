"""open orders partial index for the card

Revision ID: 7c1d2e3f4a5b
Revises: 55350260cec2
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1d2e3f4a5b"
down_revision: str | None = "55350260cec2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ORDERS = "status IN ('pending', 'processing', 'on_hold', 'shipped')"


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_open_customer_id_placed_at",
            ["customer_id", "placed_at"],
            unique=False,
            postgresql_where=sa.text(OPEN_ORDERS),
            sqlite_where=sa.text(OPEN_ORDERS),
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_open_customer_id_placed_at")
