"""insights: follow-up flags kept on calls as they end (called again within 7 days, called back
within 24 h) and the dialled number of outbound calls as E.164

Revision ID: e5a7c9d1f3b5
Revises: d4f6a8b0c2e4
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a7c9d1f3b5"
down_revision: str | None = "d4f6a8b0c2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The calls already logged get their flags as app/calls/follow_ups.py would have set them. An
# outbound call's dialled number is kept as E.164 only where it was dialled so (the comparison
# the stats made until now); calls from here on are read in the store's region.
_BACKFILL = {
    "postgresql": [
        r"""UPDATE calls SET to_e164 = to_raw
            WHERE direction = 'out' AND to_raw ~ '^\+[1-9][0-9]{6,14}$'""",
        """UPDATE calls SET called_again = true
            WHERE direction = 'in' AND from_e164 IS NOT NULL AND EXISTS (
              SELECT 1 FROM calls r WHERE r.from_e164 = calls.from_e164 AND r.direction = 'in'
                AND r.started_at > calls.started_at
                AND r.started_at <= calls.started_at + interval '7 days')""",
        """UPDATE calls SET called_back = true
            WHERE direction = 'in' AND from_e164 IS NOT NULL AND EXISTS (
              SELECT 1 FROM calls o WHERE o.to_e164 = calls.from_e164 AND o.direction = 'out'
                AND o.started_at > calls.started_at
                AND o.started_at <= calls.started_at + interval '24 hours')""",
    ],
    "sqlite": [
        """UPDATE calls SET to_e164 = to_raw
            WHERE direction = 'out' AND to_raw GLOB '+[1-9]*' AND length(to_raw) BETWEEN 8 AND 16
              AND substr(to_raw, 2) NOT GLOB '*[^0-9]*'""",
        """UPDATE calls SET called_again = 1
            WHERE direction = 'in' AND from_e164 IS NOT NULL AND EXISTS (
              SELECT 1 FROM calls r WHERE r.from_e164 = calls.from_e164 AND r.direction = 'in'
                AND r.started_at > calls.started_at
                AND julianday(r.started_at) <= julianday(calls.started_at) + 7)""",
        """UPDATE calls SET called_back = 1
            WHERE direction = 'in' AND from_e164 IS NOT NULL AND EXISTS (
              SELECT 1 FROM calls o WHERE o.to_e164 = calls.from_e164 AND o.direction = 'out'
                AND o.started_at > calls.started_at
                AND julianday(o.started_at) <= julianday(calls.started_at) + 1)""",
    ],
}


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("to_e164", sa.String(20), nullable=True))
        batch.add_column(sa.Column("called_again", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("called_back", sa.Boolean, nullable=False, server_default=sa.false()))
    op.drop_index("ix_calls_outbound_to_raw_started_at", table_name="calls")
    op.create_index(
        "ix_calls_outbound_to_e164_started_at",
        "calls",
        ["to_e164", "started_at"],
        postgresql_where=sa.text("direction = 'out'"),
        sqlite_where=sa.text("direction = 'out'"),
    )
    for statement in _BACKFILL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_calls_outbound_to_e164_started_at", table_name="calls")
    op.create_index(
        "ix_calls_outbound_to_raw_started_at",
        "calls",
        ["to_raw", "started_at"],
        postgresql_where=sa.text("direction = 'out'"),
        sqlite_where=sa.text("direction = 'out'"),
    )
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("called_back")
        batch.drop_column("called_again")
        batch.drop_column("to_e164")
