"""record links: where a customer/order came from (for admin links) and a case's helpdesk URL

Revision ID: b2d4f6a8c0e2
Revises: a1c3e5f7b9d1
Create Date: 2026-12-02 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2d4f6a8c0e2"
down_revision: str | None = "a1c3e5f7b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding them rewrites no row on either database, and NULL is what every
    # record written so far means (written through the sync API, or origin unknown).
    op.add_column("customers", sa.Column("origin", sa.String(length=16), nullable=True))
    op.add_column("orders", sa.Column("origin", sa.String(length=16), nullable=True))
    op.add_column("cases", sa.Column("url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("url")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("origin")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("origin")
