"""records per store: customers, orders, cases and their tombstones belong to a store

Everything stored so far moves into `default` (the column's default fills it in); external ids
become unique per store, so two shops' order 1001 are two orders.

Revision ID: a7c9e1f3b5d7
Revises: f6b8d0e2a4c6
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c9e1f3b5d7"
down_revision: str | None = "f6b8d0e2a4c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDS = ("customers", "orders", "cases")
_TOMBSTONES = ("erasures", "order_deletions")


def _store_column(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "store_id",
        sa.String(64),
        nullable=False,
        server_default="default",
        primary_key=primary_key,
    )


def upgrade() -> None:
    # Calls name their store from now on; those logged before are the default store's (NULL).
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("store_id", sa.String(64)))
        batch.create_index("ix_calls_store_id_started_at", ["store_id", "started_at"])
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("shopify_shop", sa.String(255)))
        batch.add_column(sa.Column("shopify_webhook_secret", sa.String(255)))
        batch.add_column(sa.Column("woocommerce_url", sa.String(1000)))
        batch.add_column(sa.Column("woocommerce_webhook_secret", sa.String(255)))
        batch.create_unique_constraint("uq_stores_shopify_shop", ["shopify_shop"])
        batch.create_unique_constraint("uq_stores_woocommerce_url", ["woocommerce_url"])
    # On PostgreSQL a column with a constant default is added without rewriting the table; SQLite
    # rebuilds each table (batch mode), keeping its rows.
    for table in _RECORDS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_store_column())
            batch.create_foreign_key(f"fk_{table}_store_id_stores", "stores", ["store_id"], ["id"])
            batch.drop_constraint(f"uq_{table}_external_id", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_store_id_external_id", ["store_id", "external_id"])
    for table in _TOMBSTONES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_store_column())
            batch.create_foreign_key(f"fk_{table}_store_id_stores", "stores", ["store_id"], ["id"])
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["store_id", "external_id"])


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_store_id_started_at")
        batch.drop_column("store_id")
    # Only an install that still has one store can go back: two stores' equal ids would collide.
    for table in _TOMBSTONES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["external_id"])
            batch.drop_constraint(f"fk_{table}_store_id_stores", type_="foreignkey")
            batch.drop_column("store_id")
    for table in _RECORDS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_store_id_external_id", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_external_id", ["external_id"])
            batch.drop_constraint(f"fk_{table}_store_id_stores", type_="foreignkey")
            batch.drop_column("store_id")
    with op.batch_alter_table("stores") as batch:
        batch.drop_constraint("uq_stores_woocommerce_url", type_="unique")
        batch.drop_constraint("uq_stores_shopify_shop", type_="unique")
        for column in ("woocommerce_webhook_secret", "woocommerce_url", "shopify_webhook_secret", "shopify_shop"):
            batch.drop_column(column)
