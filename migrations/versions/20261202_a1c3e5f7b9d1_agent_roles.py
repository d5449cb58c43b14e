"""agent roles: agent, supervisor, admin

Revision ID: a1c3e5f7b9d1
Revises: e6cdbaa7fe4b
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

revision: str = "a1c3e5f7b9d1"
down_revision: str | None = "e6cdbaa7fe4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the team-page change (agents.role)


def downgrade() -> None:
    pass
