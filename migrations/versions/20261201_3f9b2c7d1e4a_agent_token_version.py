"""agent token version; agent ids never reused on SQLite

Revision ID: 3f9b2c7d1e4a
Revises: d468da37d4d4
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9b2c7d1e4a"
down_revision: str | None = "d468da37d4d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite the table is rebuilt so that it becomes AUTOINCREMENT: a deleted agent's id (and
    # with it any token still naming it) must never be handed to the next agent created. On
    # PostgreSQL the column is simply added; its sequence never reuses ids.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "agents",
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("token_version")
