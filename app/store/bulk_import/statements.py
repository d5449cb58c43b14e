"""The statements that apply a staged batch set-based, and the script that runs them.

Equivalence with the writers (customer_writes, order_writes, case_writes), which stay the
reference (single PUTs and webhooks use them, and SQLite imports through them):

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
* `origin` of customers and orders: never set here, as the writers set it for the import (NULL on
  a new row, a stored one keeps its own; schemas.origin_values).
* Not reproduced: row ids (they come from the same sequences but in a different order) and the
  text of JSON columns (same values, orjson's compact spelling). Writes of one batch commit in
  one transaction, so a record is never half-applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from app.store.erasures import PERSONAL_ORDER_FIELDS
from app.store.order_writes import SHIPPED_STATUSES
from app.store.schemas import NON_REVENUE_STATUSES, CaseKind, OrderStatus
from app.store.write_transactions import STORE_WIDE_LOCK

# Plans. Every statement reaches the stored tables through an index on the key it looks up (external
# ids, ids, the owner of a phone), a few hundred to a few thousand probes per batch. A hash or merge
# join, or a scan kept in memory for a nested loop, would read the whole table instead, and without
# statistics (nothing analyzes a table that is still being filled, nor the staging tables) the
# planner cannot tell which is cheaper: each batch therefore runs with hash joins, merge joins and
# materialised inner scans switched off, leaving nested loops over the staged rows with an index
# probe per row, and the staging tables (staging.py) carry the indexes their joins with each other
# need. Where the key is not unique, its default selectivity makes a filtered scan of the whole
# table look as cheap as the probes; those lookups are LATERAL subqueries kept out of the join
# search (OFFSET 0), so the staged rows always drive and each one probes the index.
# "num_nulls(x) = 1" is "x IS NULL" in a form no index can serve: the planner takes IS NULL for
# selective and would AND in a scan of every null entry (every guest order, every unlinked order)
# for each key probed. The store of an early arrival is compared outside its LATERAL for the same
# reason: `x.store_id = a.store_id` inside it made the planner walk the (store_id, external_id)
# index over the whole store for each probe (a 1.2M-row import fell from 17,000 to 7,000 rows/s).


def _in_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


def _revenue(prefix: str) -> str:
    """What an order adds to the lifetime value (aggregates.OrderContribution.of)."""
    return (
        f"CASE WHEN {prefix}status IN ({_in_list(NON_REVENUE_STATUSES)}) THEN 0 "
        f"ELSE greatest({prefix}total_units - {prefix}refunded_units, 0) END"
    )


_SHIPPED_LIST = _in_list(SHIPPED_STATUSES)
_DELIVERED = f"'{OrderStatus.DELIVERED.value}'"
_RETURN = f"'{CaseKind.RETURN.value}'"

# customer_writes._apply_run and _link_early_arrivals, for one run.
_CUSTOMER_RUN = """
INSERT INTO import_erased
SELECT s.line
FROM import_customers s
LEFT JOIN customers c ON c.store_id = s.store_id AND c.external_id = s.external_id
WHERE s.run = {run}
  AND (c.id IS NULL OR s.updated_at >= c.updated_at)
  AND EXISTS (
      SELECT 1 FROM erasures e
      WHERE e.store_id = s.store_id AND e.external_id = s.external_id AND s.updated_at <= e.erased_at
  );

INSERT INTO import_customers_applied
SELECT s.*, CASE WHEN c.id IS NULL THEN nextval('customers_id_seq') ELSE c.id END, c.id IS NULL
FROM import_customers s
LEFT JOIN customers c ON c.store_id = s.store_id AND c.external_id = s.external_id
WHERE s.run = {run}
  AND (c.id IS NULL OR s.updated_at >= c.updated_at)
  AND NOT EXISTS (
      SELECT 1 FROM erasures e
      WHERE e.store_id = s.store_id AND e.external_id = s.external_id AND s.updated_at <= e.erased_at
  );

UPDATE customers c
SET first_name = a.first_name, last_name = a.last_name, email = a.email, city = a.city, tags = a.tags,
    note = a.note, created_at = a.created_at, updated_at = a.updated_at, synced_at = {now}
FROM import_customers_applied a
WHERE a.run = {run} AND NOT a.created AND c.id = a.customer_id;

INSERT INTO customers (
    id, store_id, external_id, first_name, last_name, email, city, tags, note, created_at, updated_at,
    synced_at, orders_count, returns_count
)
SELECT a.customer_id, a.store_id, a.external_id, a.first_name, a.last_name, a.email, a.city, a.tags, a.note,
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
        SELECT x.id, x.store_id FROM orders x
        WHERE x.customer_external_id = a.external_id AND num_nulls(x.customer_id) = 1 OFFSET 0
    ) early
    WHERE a.run = {run} AND a.created AND o.id = early.id AND early.store_id = a.store_id
    RETURNING o.customer_id
), cases_linked AS (
    UPDATE cases k SET customer_id = a.customer_id
    FROM import_customers_applied a
    CROSS JOIN LATERAL (
        SELECT x.id, x.store_id FROM cases x
        WHERE x.customer_external_id = a.external_id AND num_nulls(x.customer_id) = 1 OFFSET 0
    ) early
    WHERE a.run = {run} AND a.created AND k.id = early.id AND early.store_id = a.store_id
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
SET erased = true, customer_external_id = NULL, {personal_fields_null}
WHERE s.run = {run} AND EXISTS (
    SELECT 1 FROM erasures e
    WHERE e.store_id = s.store_id AND e.external_id = s.customer_external_id
      AND s.updated_at <= e.erased_at
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
            WHERE b.external_id = s.customer_external_id AND b.store_id = s.store_id LIMIT 1),
           (SELECT c.id FROM customers c
            WHERE c.store_id = s.store_id AND c.external_id = s.customer_external_id)
       ),
       o.customer_id, o.status, o.currency, o.total_units, o.refunded_units, o.placed_at,
       o.shipped_at, o.delivered_at
FROM import_orders s
LEFT JOIN orders o ON o.store_id = s.store_id AND o.external_id = s.external_id
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
    id, store_id, external_id, customer_id, customer_external_id, name, email, city, number, status,
    financial_status, fulfillment_status, total_units, refunded_units, currency, placed_at,
    shipped_at, delivered_at, expected_delivery_at, tracking_url, items, updated_at, synced_at
)
SELECT a.order_id, a.store_id, a.external_id, a.customer_id, a.customer_external_id, a.name, a.email, a.city,
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
    SELECT x.id, x.store_id FROM cases x
    WHERE x.order_external_id = a.external_id AND num_nulls(x.order_id) = 1 OFFSET 0
) early
WHERE a.run = {run} AND a.created AND k.id = early.id AND early.store_id = a.store_id;

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
    SELECT 1 FROM erasures e
    WHERE e.store_id = s.store_id AND e.external_id = s.customer_external_id
      AND s.updated_at <= e.erased_at
);

INSERT INTO import_erased
SELECT s.line
FROM import_cases s
LEFT JOIN cases k ON k.store_id = s.store_id AND k.external_id = s.external_id
WHERE s.run = {run} AND s.erased AND (k.id IS NULL OR s.updated_at >= k.updated_at);

INSERT INTO import_cases_applied
SELECT s.*, CASE WHEN k.id IS NULL THEN nextval('cases_id_seq') ELSE k.id END, k.id IS NULL,
       coalesce(c.id, o.customer_id), o.id, k.customer_id, k.kind
FROM import_cases s
LEFT JOIN cases k ON k.store_id = s.store_id AND k.external_id = s.external_id
LEFT JOIN customers c ON c.store_id = s.store_id AND c.external_id = s.customer_external_id
LEFT JOIN orders o ON o.store_id = s.store_id AND o.external_id = s.order_external_id
WHERE s.run = {run} AND NOT s.erased AND (k.id IS NULL OR s.updated_at >= k.updated_at);

UPDATE cases k
SET customer_id = a.customer_id, customer_external_id = a.customer_external_id,
    order_id = a.order_id, order_external_id = a.order_external_id, kind = a.kind,
    status = a.status, subject = a.subject, opened_at = a.opened_at, updated_at = a.updated_at,
    url = a.url
FROM import_cases_applied a
WHERE a.run = {run} AND NOT a.created AND k.id = a.case_id;

INSERT INTO cases (
    id, store_id, external_id, customer_id, customer_external_id, order_id, order_external_id, kind, status,
    subject, opened_at, updated_at, url
)
SELECT a.case_id, a.store_id, a.external_id, a.customer_id, a.customer_external_id, a.order_id,
       a.order_external_id, a.kind, a.status, a.subject, a.opened_at, a.updated_at, a.url
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
APPLIED_COUNT: Final = """
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
        # What an erased customer's orders keep: the one list of erasures.py, as the writers use it.
        "personal_fields_null": ", ".join(f"{field} = NULL" for field in PERSONAL_ORDER_FIELDS),
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
