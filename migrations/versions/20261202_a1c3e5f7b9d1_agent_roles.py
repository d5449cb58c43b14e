"""agent roles: agent, supervisor, admin; which instance holds whose push sockets

Revision ID: a1c3e5f7b9d1
Revises: e6cdbaa7fe4b
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c3e5f7b9d1"
down_revision: str | None = "e6cdbaa7fe4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES = "role IN ('agent', 'supervisor', 'admin')"


def upgrade() -> None:
    # Every agent so far answered calls and nothing more: 'agent' is what they were. SQLite
    # cannot add a check constraint to a table, so batch mode rebuilds it there, keeping it
    # AUTOINCREMENT (ids of deleted agents are never reused: see 3f9b2c7d1e4a).
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "agents",
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="agent", nullable=False))
        batch_op.create_check_constraint(op.f("ck_agents_role"), _ROLES)
    op.create_table(
        "socket_presence",
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("agent_ids", sa.JSON(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_socket_presence")),
    )


def downgrade() -> None:
    op.drop_table("socket_presence")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "agents",
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.drop_constraint(op.f("ck_agents_role"), type_="check")
        batch_op.drop_column("role")
