"""record links: where a customer/order came from (for admin links) and a case's helpdesk URL

Revision ID: b2d4f6a8c0e2
Revises: a1c3e5f7b9d1
Create Date: 2026-12-02 19:05:00
"""

from collections.abc import Sequence

revision: str = "b2d4f6a8c0e2"
down_revision: str | None = "a1c3e5f7b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the links-out change


def downgrade() -> None:
    pass
