"""The session-local staging and work tables the set-based import copies a batch into.

They are temporary tables (each connection has its own, so two batches in flight never see each
other's rows) that empty themselves at every commit, created once per pooled connection rather
than once per batch."""

from __future__ import annotations

from typing import Any, Final

# "applied" tables hold the rows of a run that passed the stale (and erasure) checks, with the ids
# they get and what they replace. The indexes are the ones the statements' joins between these
# tables need (see "Plans" in statements.py).
STAGING_DDL: Final = """
CREATE TEMP TABLE IF NOT EXISTS import_customers (
    line bigint, run int, external_id text, first_name text, last_name text, email text, city text,
    tags json, note text, created_at timestamptz, updated_at timestamptz, store_id text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_orders (
    line bigint, run int, external_id text, customer_external_id text, name text, email text,
    city text, number text, status text, financial_status text, fulfillment_status text,
    total_units bigint, refunded_units bigint, currency text, placed_at timestamptz,
    shipped_at timestamptz, delivered_at timestamptz, expected_delivery_at timestamptz,
    tracking_url text, items json, updated_at timestamptz,
    -- Set when an erasure of the customer is newer than this state: kept without personal data.
    erased boolean NOT NULL DEFAULT false, store_id text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_cases (
    line bigint, run int, external_id text, customer_external_id text, order_external_id text,
    kind text, status text, subject text, opened_at timestamptz, updated_at timestamptz, url text,
    -- Set when an erasure of the customer is newer than this state: not applied.
    erased boolean NOT NULL DEFAULT false, store_id text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_erased (line bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_phones (
    line bigint, source text, raw text, e164 text, national text, reversed_digits text,
    country_code int
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_customers_applied (
    LIKE import_customers, customer_id bigint, created boolean
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_orders_applied (
    LIKE import_orders, order_id bigint, created boolean, customer_id bigint,
    old_customer_id bigint, old_status text, old_currency text, old_total_units bigint,
    old_refunded_units bigint, old_placed_at timestamptz, old_shipped_at timestamptz,
    old_delivered_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_cases_applied (
    LIKE import_cases, case_id bigint, created boolean, customer_id bigint, order_id bigint,
    old_customer_id bigint, old_kind text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_linked (run int, customer_id bigint) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS import_phones_line ON import_phones (line);
CREATE INDEX IF NOT EXISTS import_customers_applied_external_id
    ON import_customers_applied (external_id);
"""

# Marks, in a pooled connection's `info`, that its staging tables exist: the tables live as long as
# the connection, and `info` lives exactly as long.
_STAGING_READY: Final = "ringcard_import_staging"


async def ensure_staging_tables(pooled: Any, driver: Any) -> None:
    """Create the staging tables on this connection unless it already has them."""
    if not pooled.info.get(_STAGING_READY):
        await driver.execute(STAGING_DDL)
        pooled.info[_STAGING_READY] = True
