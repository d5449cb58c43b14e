"""The bulk import on PostgreSQL: each batch is copied into session-local staging tables and applied
by a few set-based statements, instead of the per-record Python writers.

Why: the writers (customer_writes, order_writes, case_writes) spend most of a bulk import's time in
Python, building dicts, compiling statements with thousand-element IN lists and keeping aggregate
deltas per record. Here Python only validates a line and turns it into one plain tuple (phones
normalised on the way, cached per distinct number); COPY moves the tuples, and the database does
the stale checks, the upserts, the phone index, the linking of early arrivals and the aggregates.

Equivalence with the writers, which stay the reference (single PUTs and webhooks use them, and
SQLite imports through them):

* A batch is applied as the writers apply it: all its customers, then its orders, then its cases,
  each kind split into the same consecutive runs in which an external id occurs once
  (app/store/batching.unique_runs). A record written twice in one batch is therefore applied as
  two sequential single writes would be: the second sees the first (stale check, shipped_at and
  delivered_at kept from the stored row, aggregate deltas), and the report counts both.
* Within a run every statement reproduces the writer's per-run logic: the existing rows are read
  once at the start of the run (the writers read them once per run too), stale rows and rows
  refused by an erasure tombstone are left out, the rest are updated or inserted, owners' phones
  are replaced, new orders pick up the cases that named them, new customers pick up the orders
  and cases that named them and get their aggregates rebuilt, and aggregate deltas are applied
  per customer (orders_count, first/last order, returns_count) and per customer and currency
  (customer_ltv, only non-zero deltas, as AggregateDeltas does). A customer that lost an order, or
  whose order moved in time, has first/last order read again from its orders, as the writers do.
* Not reproduced: row ids (they come from the same sequences but in a different order) and the
  text of JSON columns (same values, orjson's compact spelling). Writes of one batch commit in
  one transaction, so a record is never half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import typing
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.kit.money import to_units
from app.store.order_writes import _SHIPPED
from app.store.phone_rows import phone_row
from app.store.schemas import (
    NON_REVENUE_STATUSES,
    CaseKind,
    CustomerPhoneIn,
    OrderItemIn,
    OrderPhoneIn,
    OrderStatus,
)
from app.store.write_transactions import STORE_WIDE_LOCK

# Defaults the validated dicts leave out (see import_records): read from the models, so the two
# paths cannot disagree on them.
_PHONE_KIND: Final[str] = CustomerPhoneIn.model_fields["kind"].default
_ITEM_QUANTITY: Final[int] = OrderItemIn.model_fields["quantity"].default
# Where an order's phone was written, as order_writes names it, for each kind the schema allows.
_ORDER_SOURCES: Final = {
    kind: f"order.{kind}_phone" for kind in typing.get_args(OrderPhoneIn.model_fields["kind"].annotation)
}

CUSTOMER_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "city",
    "tags",
    "note",
    "created_at",
    "updated_at",
)
ORDER_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "customer_external_id",
    "name",
    "email",
    "city",
    "number",
    "status",
    "financial_status",
    "fulfillment_status",
    "total_units",
    "refunded_units",
    "currency",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "expected_delivery_at",
    "tracking_url",
    "items",
    "updated_at",
)
CASE_COLUMNS: Final = (
    "line",
    "run",
    "external_id",
    "customer_external_id",
    "order_external_id",
    "kind",
    "status",
    "subject",
    "opened_at",
    "updated_at",
)
PHONE_COLUMNS: Final = ("line", "source", "raw", "e164", "national", "reversed_digits", "country_code")

# A number as the index stores it: (merge key, e164, national, reversed digits, country code);
# None when there is nothing to match on, so no row.
PhoneFacts = tuple[str, str | None, str | None, str, int | None] | None
# An owner's index row without the owner: (source, raw, e164, national, reversed digits, country
# code).
PhoneRow = tuple[str, str, str | None, str | None, str, int | None]


class PhoneCache:
    """Index rows per list of phones, for one import. An order usually repeats its customer's
    number, often twice (billing and shipping), so most lookups hit and a number is normalised
    once."""

    LIMIT: Final = 100_000

    def __init__(self, region: str) -> None:
        self.region = region
        self._facts: dict[str, PhoneFacts] = {}
        self._rows: dict[tuple[tuple[str, str], ...], list[PhoneRow]] = {}

    def rows(self, phones: tuple[tuple[str, str], ...]) -> list[PhoneRow]:
        """One owner's rows for its phones given as (raw, source), merged exactly as
        phone_rows.owner_phone_rows merges them: one row per distinct number, sources
        comma-joined."""
        try:
            return self._rows[phones]
        except KeyError:
            pass
        merged: dict[str, list[Any]] = {}
        for raw, source in phones:
            facts = self._facts_of(raw)
            if facts is None:
                continue
            row = merged.get(facts[0])
            if row is None:
                merged[facts[0]] = [source, raw[:64], facts]
            else:
                sources = row[0].split(",")
                if source not in sources:
                    row[0] = ",".join([*sources, source])[:100]
        rows = [
            (source, raw, e164, national, reversed_digits, country_code)
            for source, raw, (_, e164, national, reversed_digits, country_code) in merged.values()
        ]
        if len(self._rows) >= self.LIMIT:
            # Numbers repeat close together (a customer, then their orders): a fresh start costs
            # little and keeps memory flat on a backfill of millions.
            self._rows.clear()
        self._rows[phones] = rows
        return rows

    def _facts_of(self, raw: str) -> PhoneFacts:
        try:
            return self._facts[raw]
        except KeyError:
            pass
        # phone_row is the index's definition of a row; only its owner and source vary.
        row = phone_row(raw, "", self.region)
        facts: PhoneFacts = None
        if row is not None:
            facts = (
                row["e164"] or row["reversed_digits"],
                row["e164"],
                row["national"],
                row["reversed_digits"],
                row["country_code"],
            )
        if len(self._facts) >= self.LIMIT:
            self._facts.clear()
        self._facts[raw] = facts
        return facts


@dataclass(slots=True)
class _Runs:
    """Splits one kind's records into the runs app/store/batching.unique_runs would make."""

    run: int = 1
    seen: set[str] = field(default_factory=set)

    def of(self, external_id: str) -> int:
        if external_id in self.seen:
            self.run += 1
            self.seen = set()
        self.seen.add(external_id)
        return self.run


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # orjson refuses what the stdlib writes as escapes (a lone surrogate, say).
        return json.dumps(value)


def _items_json(items: list[dict[str, Any]]) -> str:
    """The order's items as order_writes stores them: every item with its title and quantity."""
    if all(len(item) == 2 for item in items):
        # Both keys present (the validated dicts hold no others): already the stored shape.
        return _json(items)
    return _json([{"title": i["title"], "quantity": i.get("quantity", _ITEM_QUANTITY)} for i in items])


class PgBatch:
    """One batch as rows for the staging tables, in the order the lines came."""

    __slots__ = (
        "_case_runs",
        "_customer_runs",
        "_order_runs",
        "_phones",
        "cases",
        "customers",
        "orders",
        "phones",
    )

    def __init__(self, phones: PhoneCache) -> None:
        self._phones = phones
        self.customers: list[tuple[Any, ...]] = []
        self.orders: list[tuple[Any, ...]] = []
        self.cases: list[tuple[Any, ...]] = []
        self.phones: list[tuple[Any, ...]] = []
        self._customer_runs = _Runs()
        self._order_runs = _Runs()
        self._case_runs = _Runs()

    def __len__(self) -> int:
        return len(self.customers) + len(self.orders) + len(self.cases)

    @property
    def runs(self) -> tuple[int, int, int]:
        return (
            self._customer_runs.run if self.customers else 0,
            self._order_runs.run if self.orders else 0,
            self._case_runs.run if self.cases else 0,
        )

    def add(self, line: int, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "order":
            self._add_order(line, record)
        elif kind == "customer":
            self._add_customer(line, record)
        else:
            self._add_case(line, record)

    def _add_customer(self, line: int, rec: dict[str, Any]) -> None:
        get = rec.get
        ext = rec["external_id"]
        tags = get("tags")
        self.customers.append(
            (
                line,
                self._customer_runs.of(ext),
                ext,
                get("first_name"),
                get("last_name"),
                get("email"),
                get("city"),
                _json(tags) if tags else "[]",
                get("note"),
                get("created_at"),
                rec["updated_at"],
            )
        )
        phones = get("phones")
        if phones:
            self._add_phones(
                line, tuple([(p["number"], f"customer.{p.get('kind', _PHONE_KIND)}") for p in phones])
            )

    def _add_order(self, line: int, rec: dict[str, Any]) -> None:
        get = rec.get
        ext = rec["external_id"]
        refunded = get("refunded_total")
        items = get("items")
        self.orders.append(
            (
                line,
                self._order_runs.of(ext),
                ext,
                get("customer_external_id"),
                get("name"),
                get("email"),
                get("city"),
                rec["number"],
                rec["status"].value,
                get("financial_status"),
                get("fulfillment_status"),
                to_units(rec["total"]),
                0 if refunded is None else to_units(refunded),
                rec["currency"],
                rec["placed_at"],
                get("shipped_at"),
                get("delivered_at"),
                get("expected_delivery_at"),
                get("tracking_url"),
                _items_json(items) if items else "[]",
                rec["updated_at"],
            )
        )
        phones = get("phones")
        if phones:
            self._add_phones(line, tuple([(p["number"], _ORDER_SOURCES[p["kind"]]) for p in phones]))

    def _add_case(self, line: int, rec: dict[str, Any]) -> None:
        get = rec.get
        ext = rec["external_id"]
        self.cases.append(
            (
                line,
                self._case_runs.of(ext),
                ext,
                get("customer_external_id"),
                get("order_external_id"),
                rec["kind"].value,
                rec["status"].value,
                get("subject"),
                rec["opened_at"],
                rec["updated_at"],
            )
        )

    def _add_phones(self, line: int, phones: tuple[tuple[str, str], ...]) -> None:
        append = self.phones.append
        for row in self._phones.rows(phones):
            append((line, *row))


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------

# Plans. Every statement reaches the stored tables through an index on the key it looks up
# (external ids, ids, the owner of a phone), a few hundred to a few thousand probes per batch. A
# hash or merge join, or a scan kept in memory for a nested loop, would read the whole table
# instead, and without statistics (nothing analyzes a table that is still being filled, nor the
# staging tables) the planner cannot tell which is cheaper: each batch therefore runs with hash
# joins, merge joins and materialised inner scans switched off, leaving nested loops over the
# staged rows with an index probe per row, and the staging tables carry the indexes their joins
# with each other need. Where the key is not unique, its default selectivity makes a filtered scan
# of the whole table look as cheap as the probes; those lookups are LATERAL subqueries kept out of
# the join search (OFFSET 0), so the staged rows always drive and each one probes the index.
# "num_nulls(x) = 1" is "x IS NULL" in a form no index can serve: the planner takes IS NULL for
# selective and would AND in a scan of every null entry (every guest order, every unlinked order)
# for each key probed.
#
# Session-local staging and work tables, emptied at every commit. "applied" tables hold the rows of
# a run that passed the stale (and erasure) checks, with the ids they get and what they replace.
STAGING_DDL: Final = """
CREATE TEMP TABLE IF NOT EXISTS import_customers (
    line bigint, run int, external_id text, first_name text, last_name text, email text, city text,
    tags json, note text, created_at timestamptz, updated_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_orders (
    line bigint, run int, external_id text, customer_external_id text, name text, email text,
    city text, number text, status text, financial_status text, fulfillment_status text,
    total_units bigint, refunded_units bigint, currency text, placed_at timestamptz,
    shipped_at timestamptz, delivered_at timestamptz, expected_delivery_at timestamptz,
    tracking_url text, items json, updated_at timestamptz,
    -- Set when an erasure of the customer is newer than this state: kept without personal data.
    erased boolean NOT NULL DEFAULT false
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_cases (
    line bigint, run int, external_id text, customer_external_id text, order_external_id text,
    kind text, status text, subject text, opened_at timestamptz, updated_at timestamptz,
    -- Set when an erasure of the customer is newer than this state: not applied.
    erased boolean NOT NULL DEFAULT false
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


def _in_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


def _revenue(prefix: str) -> str:
    """What an order adds to the lifetime value (aggregates.OrderContribution.of)."""
    return (
        f"CASE WHEN {prefix}status IN ({_in_list(NON_REVENUE_STATUSES)}) THEN 0 "
        f"ELSE greatest({prefix}total_units - {prefix}refunded_units, 0) END"
    )


_SHIPPED_LIST = _in_list(_SHIPPED)
_DELIVERED = f"'{OrderStatus.DELIVERED.value}'"
_RETURN = f"'{CaseKind.RETURN.value}'"

# customer_writes._apply_run and _link_early_arrivals, for one run.
_CUSTOMER_RUN = """
INSERT INTO import_erased
SELECT s.line
FROM import_customers s
LEFT JOIN customers c ON c.external_id = s.external_id
WHERE s.run = {run}
  AND (c.id IS NULL OR s.updated_at >= c.updated_at)
  AND EXISTS (
      SELECT 1 FROM erasures e WHERE e.external_id = s.external_id AND s.updated_at <= e.erased_at
  );

INSERT INTO import_customers_applied
SELECT s.*, CASE WHEN c.id IS NULL THEN nextval('customers_id_seq') ELSE c.id END, c.id IS NULL
FROM import_customers s
LEFT JOIN customers c ON c.external_id = s.external_id
WHERE s.run = {run}
  AND (c.id IS NULL OR s.updated_at >= c.updated_at)
  AND NOT EXISTS (
      SELECT 1 FROM erasures e WHERE e.external_id = s.external_id AND s.updated_at <= e.erased_at
  );

UPDATE customers c
SET first_name = a.first_name, last_name = a.last_name, email = a.email, city = a.city, tags = a.tags,
    note = a.note, created_at = a.created_at, updated_at = a.updated_at, synced_at = {now}
FROM import_customers_applied a
WHERE a.run = {run} AND NOT a.created AND c.id = a.customer_id;

INSERT INTO customers (
    id, external_id, first_name, last_name, email, city, tags, note, created_at, updated_at,
    synced_at, orders_count, returns_count
)
SELECT a.customer_id, a.external_id, a.first_name, a.last_name, a.email, a.city, a.tags, a.note,
       a.created_at, a.updated_at, {now}, 0, 0
FROM import_customers_applied a
WHERE a.run = {run} AND a.created;

DELETE FROM phones p
USING import_customers_applied a
CROSS JOIN LATERAL (
    SELECT x.id FROM phones x
    WHERE x.customer_id = a.customer_id AND num_nulls(x.order_id) = 1 OFFSET 0
) old
WHERE a.run = {run} AND NOT a.created AND p.id = old.id;

INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits, country_code)
SELECT a.customer_id, p.source, p.raw, p.e164, p.national, p.reversed_digits, p.country_code
FROM import_customers_applied a
JOIN import_phones p ON p.line = a.line
WHERE a.run = {run};

WITH orders_linked AS (
    UPDATE orders o SET customer_id = a.customer_id
    FROM import_customers_applied a
    CROSS JOIN LATERAL (
        SELECT x.id FROM orders x
        WHERE x.customer_external_id = a.external_id AND num_nulls(x.customer_id) = 1 OFFSET 0
    ) early
    WHERE a.run = {run} AND a.created AND o.id = early.id
    RETURNING o.customer_id
), cases_linked AS (
    UPDATE cases k SET customer_id = a.customer_id
    FROM import_customers_applied a
    CROSS JOIN LATERAL (
        SELECT x.id FROM cases x
        WHERE x.customer_external_id = a.external_id AND num_nulls(x.customer_id) = 1 OFFSET 0
    ) early
    WHERE a.run = {run} AND a.created AND k.id = early.id
    RETURNING k.customer_id
)
INSERT INTO import_linked (run, customer_id)
SELECT {run}, customer_id FROM orders_linked UNION SELECT {run}, customer_id FROM cases_linked;

UPDATE customers c
SET orders_count = x.orders, first_order_at = x.first_at, last_order_at = x.last_at
FROM import_linked l
CROSS JOIN LATERAL (
    SELECT count(*) AS orders, min(o.placed_at) AS first_at, max(o.placed_at) AS last_at
    FROM orders o WHERE o.customer_id = l.customer_id
) x
WHERE l.run = {run} AND x.orders > 0 AND c.id = l.customer_id;

UPDATE customers c
SET returns_count = x.returns
FROM import_linked l
CROSS JOIN LATERAL (
    SELECT count(*) AS returns FROM cases k WHERE k.customer_id = l.customer_id AND k.kind = {return_kind}
) x
WHERE l.run = {run} AND x.returns > 0 AND c.id = l.customer_id;

INSERT INTO customer_ltv (customer_id, currency, amount_units)
SELECT l.customer_id, x.currency, x.amount_units
FROM import_linked l
CROSS JOIN LATERAL (
    SELECT o.currency, sum({revenue_o}) AS amount_units
    FROM orders o WHERE o.customer_id = l.customer_id
    GROUP BY o.currency
    HAVING sum({revenue_o}) <> 0
) x
WHERE l.run = {run};
"""

# order_writes._apply_run, for one run.
_ORDER_RUN = """
UPDATE import_orders s
SET erased = true, customer_external_id = NULL, name = NULL, email = NULL, city = NULL,
    tracking_url = NULL
WHERE s.run = {run} AND EXISTS (
    SELECT 1 FROM erasures e WHERE e.external_id = s.customer_external_id AND s.updated_at <= e.erased_at
);

-- The erased lines as one array, computed once: a join here would be a nested loop of every
-- staged phone against every staged order (see "Plans").
DELETE FROM import_phones p
WHERE p.line = ANY (ARRAY(SELECT s.line FROM import_orders s WHERE s.run = {run} AND s.erased));

INSERT INTO import_orders_applied
SELECT s.*, CASE WHEN o.id IS NULL THEN nextval('orders_id_seq') ELSE o.id END, o.id IS NULL,
       -- The customer as stored now; those this batch wrote are found in its (small) index.
       coalesce(
           (SELECT b.customer_id FROM import_customers_applied b
            WHERE b.external_id = s.customer_external_id LIMIT 1),
           (SELECT c.id FROM customers c WHERE c.external_id = s.customer_external_id)
       ),
       o.customer_id, o.status, o.currency, o.total_units, o.refunded_units, o.placed_at,
       o.shipped_at, o.delivered_at
FROM import_orders s
LEFT JOIN orders o ON o.external_id = s.external_id
WHERE s.run = {run} AND (o.id IS NULL OR s.updated_at >= o.updated_at);

UPDATE orders o
SET customer_id = a.customer_id, customer_external_id = a.customer_external_id, name = a.name,
    email = a.email, city = a.city, number = a.number, status = a.status,
    financial_status = a.financial_status, fulfillment_status = a.fulfillment_status,
    total_units = a.total_units, refunded_units = a.refunded_units, currency = a.currency,
    placed_at = a.placed_at, shipped_at = {shipped_at}, delivered_at = {delivered_at},
    expected_delivery_at = a.expected_delivery_at, tracking_url = a.tracking_url, items = a.items,
    updated_at = a.updated_at, synced_at = {now}
FROM import_orders_applied a
WHERE a.run = {run} AND NOT a.created AND o.id = a.order_id;

INSERT INTO orders (
    id, external_id, customer_id, customer_external_id, name, email, city, number, status,
    financial_status, fulfillment_status, total_units, refunded_units, currency, placed_at,
    shipped_at, delivered_at, expected_delivery_at, tracking_url, items, updated_at, synced_at
)
SELECT a.order_id, a.external_id, a.customer_id, a.customer_external_id, a.name, a.email, a.city,
       a.number, a.status, a.financial_status, a.fulfillment_status, a.total_units,
       a.refunded_units, a.currency, a.placed_at, {shipped_at}, {delivered_at},
       a.expected_delivery_at, a.tracking_url, a.items, a.updated_at, {now}
FROM import_orders_applied a
WHERE a.run = {run} AND a.created;

DELETE FROM phones p
USING import_orders_applied a
CROSS JOIN LATERAL (SELECT x.id FROM phones x WHERE x.order_id = a.order_id OFFSET 0) old
WHERE a.run = {run} AND NOT a.created AND p.id = old.id;

INSERT INTO phones (order_id, source, raw, e164, national, reversed_digits, country_code)
SELECT a.order_id, p.source, p.raw, p.e164, p.national, p.reversed_digits, p.country_code
FROM import_orders_applied a
JOIN import_phones p ON p.line = a.line
WHERE a.run = {run};

UPDATE cases k
SET order_id = a.order_id
FROM import_orders_applied a
CROSS JOIN LATERAL (
    SELECT x.id FROM cases x
    WHERE x.order_external_id = a.external_id AND num_nulls(x.order_id) = 1 OFFSET 0
) early
WHERE a.run = {run} AND a.created AND k.id = early.id;

WITH deltas AS MATERIALIZED (
    SELECT a.old_customer_id AS customer_id, -1 AS orders, a.old_currency AS currency,
           -({revenue_old}) AS units, NULL::timestamptz AS placed_at,
           a.customer_id IS DISTINCT FROM a.old_customer_id OR a.placed_at <> a.old_placed_at AS moved
    FROM import_orders_applied a
    WHERE a.run = {run} AND NOT a.created AND a.old_customer_id IS NOT NULL
    UNION ALL
    SELECT a.customer_id, 1, a.currency, {revenue_a}, a.placed_at, false
    FROM import_orders_applied a
    WHERE a.run = {run} AND a.customer_id IS NOT NULL
), ltv AS (
    INSERT INTO customer_ltv AS l (customer_id, currency, amount_units)
    SELECT customer_id, currency, sum(units)
    FROM deltas
    GROUP BY customer_id, currency
    HAVING sum(units) <> 0
    ON CONFLICT (customer_id, currency) DO UPDATE SET amount_units = l.amount_units + excluded.amount_units
)
UPDATE customers c
SET orders_count = c.orders_count + d.orders,
    first_order_at = CASE
        WHEN d.moved THEN (SELECT min(o.placed_at) FROM orders o WHERE o.customer_id = c.id)
        WHEN d.earliest IS NOT NULL AND (c.first_order_at IS NULL OR c.first_order_at > d.earliest)
            THEN d.earliest
        ELSE c.first_order_at END,
    last_order_at = CASE
        WHEN d.moved THEN (SELECT max(o.placed_at) FROM orders o WHERE o.customer_id = c.id)
        WHEN d.latest IS NOT NULL AND (c.last_order_at IS NULL OR c.last_order_at < d.latest)
            THEN d.latest
        ELSE c.last_order_at END
FROM (
    SELECT customer_id, sum(orders) AS orders, min(placed_at) AS earliest, max(placed_at) AS latest,
           bool_or(moved) AS moved
    FROM deltas
    GROUP BY customer_id
) d
WHERE c.id = d.customer_id;
"""

# case_writes._apply_run, for one run. A case that names no known customer takes its order's.
_CASE_RUN = """
UPDATE import_cases s
SET erased = true
WHERE s.run = {run} AND EXISTS (
    SELECT 1 FROM erasures e WHERE e.external_id = s.customer_external_id AND s.updated_at <= e.erased_at
);

INSERT INTO import_erased
SELECT s.line
FROM import_cases s
LEFT JOIN cases k ON k.external_id = s.external_id
WHERE s.run = {run} AND s.erased AND (k.id IS NULL OR s.updated_at >= k.updated_at);

INSERT INTO import_cases_applied
SELECT s.*, CASE WHEN k.id IS NULL THEN nextval('cases_id_seq') ELSE k.id END, k.id IS NULL,
       coalesce(c.id, o.customer_id), o.id, k.customer_id, k.kind
FROM import_cases s
LEFT JOIN cases k ON k.external_id = s.external_id
LEFT JOIN customers c ON c.external_id = s.customer_external_id
LEFT JOIN orders o ON o.external_id = s.order_external_id
WHERE s.run = {run} AND NOT s.erased AND (k.id IS NULL OR s.updated_at >= k.updated_at);

UPDATE cases k
SET customer_id = a.customer_id, customer_external_id = a.customer_external_id,
    order_id = a.order_id, order_external_id = a.order_external_id, kind = a.kind,
    status = a.status, subject = a.subject, opened_at = a.opened_at, updated_at = a.updated_at
FROM import_cases_applied a
WHERE a.run = {run} AND NOT a.created AND k.id = a.case_id;

INSERT INTO cases (
    id, external_id, customer_id, customer_external_id, order_id, order_external_id, kind, status,
    subject, opened_at, updated_at
)
SELECT a.case_id, a.external_id, a.customer_id, a.customer_external_id, a.order_id,
       a.order_external_id, a.kind, a.status, a.subject, a.opened_at, a.updated_at
FROM import_cases_applied a
WHERE a.run = {run} AND a.created;

UPDATE customers c
SET returns_count = c.returns_count + d.returns
FROM (
    SELECT customer_id, sum(returns) AS returns
    FROM (
        SELECT a.old_customer_id AS customer_id, -1 AS returns
        FROM import_cases_applied a
        WHERE a.run = {run} AND NOT a.created AND a.old_customer_id IS NOT NULL
          AND a.old_kind = {return_kind}
        UNION ALL
        SELECT a.customer_id, 1
        FROM import_cases_applied a
        WHERE a.run = {run} AND a.customer_id IS NOT NULL AND a.kind = {return_kind}
    ) x
    GROUP BY customer_id
) d
WHERE c.id = d.customer_id AND d.returns <> 0;
"""

# See "Plans" above: for this batch's transaction only.
_PLANNER_SETTINGS: Final = """
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_material = off;
"""

# Records applied as sent, and records an erasure kept from bringing a person back (orders stored
# without personal data, cases not applied); the rest of the batch was stale.
_APPLIED_COUNT: Final = """
SELECT (SELECT count(*) FROM import_customers_applied)
     + (SELECT count(*) FILTER (WHERE NOT erased) FROM import_orders_applied)
     + (SELECT count(*) FROM import_cases_applied),
       (SELECT count(*) FILTER (WHERE erased) FROM import_orders_applied)
     + (SELECT count(*) FROM import_erased)
"""


def batch_script(runs: tuple[int, int, int], now: datetime) -> str:
    """The statements that apply a staged batch: customers' runs, then orders', then cases'.
    Sent as one simple-protocol script (one round trip), so each statement is planned with the
    staging tables' actual sizes."""
    values = {
        "now": f"'{now.isoformat()}'::timestamptz",
        "return_kind": _RETURN,
        "revenue_o": _revenue("o."),
        "revenue_a": _revenue("a."),
        "revenue_old": _revenue("a.old_"),
        "shipped_at": (
            "CASE WHEN a.shipped_at IS NOT NULL THEN a.shipped_at "
            f"WHEN a.status IN ({_SHIPPED_LIST}) THEN coalesce(a.old_shipped_at, a.updated_at) END"
        ),
        "delivered_at": (
            "CASE WHEN a.delivered_at IS NOT NULL THEN a.delivered_at "
            f"WHEN a.status = {_DELIVERED} THEN coalesce(a.old_delivered_at, a.updated_at) END"
        ),
    }
    customer_runs, order_runs, case_runs = runs
    # Exclusive against every other store writer for this batch (app/store/write_transactions.py);
    # taken here, after the COPY, so that a batch holds it only while it applies.
    parts = [f"SELECT pg_advisory_xact_lock({STORE_WIDE_LOCK});", _PLANNER_SETTINGS]
    parts += [_CUSTOMER_RUN.format(run=run, **values) for run in range(1, customer_runs + 1)]
    parts += [_ORDER_RUN.format(run=run, **values) for run in range(1, order_runs + 1)]
    parts += [_CASE_RUN.format(run=run, **values) for run in range(1, case_runs + 1)]
    return "".join(parts)


_STAGING_READY: Final = "ringcard_import_staging"


class BatchCounts(typing.NamedTuple):
    """What became of a batch's records: applied as sent, or held back by an erasure (the rest
    were stale)."""

    applied: int
    erased: int


class PgWriter:
    """Writes staged batches strictly in order, over two connections taking turns.

    A batch's COPY into its connection's staging tables depends on nothing before it, so it runs
    while the previous batch is still being applied on the other connection; only applying waits
    for the previous batch's commit (its statements must see that batch's rows). The database thus
    never idles while a batch is encoded and copied, and one transaction per batch still holds.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._stack = contextlib.AsyncExitStack()
        self._drivers: list[Any] = []
        self._turn = 0

    async def __aenter__(self) -> PgWriter:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(2):
                session = await stack.enter_async_context(self._sessionmaker())
                pooled = await (await session.connection()).get_raw_connection()
                driver = pooled.driver_connection
                assert driver is not None
                # The staging tables live as long as the pooled connection; `info` lives exactly
                # as long.
                if not pooled.info.get(_STAGING_READY):
                    await driver.execute(STAGING_DDL)
                    pooled.info[_STAGING_READY] = True
                self._drivers.append(driver)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for driver in self._drivers:
                if not driver.is_closed() and driver.is_in_transaction():
                    # A write stopped between its statements (cancelled): never hand the pool a
                    # connection inside a transaction.
                    await driver.execute("ROLLBACK")
        finally:
            await self._stack.aclose()

    def write(self, batch: PgBatch, after: asyncio.Future[Any] | None) -> Coroutine[Any, Any, BatchCounts]:
        """The coroutine that writes `batch` once `after` (the previous batch's write) is done;
        it returns how many records were applied (the others were stale or refused by an erasure).
        Call in batch order, with at most two writes unfinished."""
        driver = self._drivers[self._turn]
        self._turn ^= 1
        return self._write(driver, batch, after)

    async def _write(self, driver: Any, batch: PgBatch, after: asyncio.Future[Any] | None) -> BatchCounts:
        # The sessions never issue a statement, so SQLAlchemy never begins a transaction on
        # these connections; asyncpg's own transaction is the batch's one.
        async with driver.transaction():
            if batch.customers:
                await driver.copy_records_to_table(
                    "import_customers", records=batch.customers, columns=CUSTOMER_COLUMNS
                )
            if batch.orders:
                await driver.copy_records_to_table(
                    "import_orders", records=batch.orders, columns=ORDER_COLUMNS
                )
            if batch.cases:
                await driver.copy_records_to_table("import_cases", records=batch.cases, columns=CASE_COLUMNS)
            if batch.phones:
                await driver.copy_records_to_table(
                    "import_phones", records=batch.phones, columns=PHONE_COLUMNS
                )
            if after is not None:
                # Raises if the previous batch failed: this one then rolls back too.
                await after
            await driver.execute(batch_script(batch.runs, utcnow()))
            applied, erased = await driver.fetchrow(_APPLIED_COUNT)
        return BatchCounts(applied=applied, erased=erased)
