"""Card build latency for a customer with 2 orders and one with 20,000 on PostgreSQL.

    .venv/bin/python -m bench.card

Budget (issue #4): the big customer's p50 within 1.2x of the small one's; at most 3 statements
per card (asserted by tests/card/test_card.py)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import text

from app.card.build import CardRules, build_card
from app.db import create_engine, make_sessionmaker
from app.kit.phones import normalise
from app.settings import Settings
from bench.common import fresh_database

CUSTOMERS = {"small": (1, "+48600000001", 2), "big": (2, "+48600000002", 20_000)}


async def populate(url: str, background_customers: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        # A realistic neighbourhood: many customers with a few orders each, plus the two we time.
        await conn.execute(
            text(
                "INSERT INTO customers (id, external_id, first_name, last_name, tags, updated_at, synced_at,"
                " orders_count, returns_count, last_order_at)"
                " SELECT i, 'c' || i, 'Anna', 'Nowak', '[]'::json, now(), now(), 0, 0, now()"
                " FROM generate_series(1, :n) AS i"
            ),
            {"n": background_customers},
        )
        await conn.execute(
            text(
                "INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits, country_code)"
                " SELECT i, 'customer.mobile', d, '+48' || d, d, reverse('48' || d), 48"
                " FROM (SELECT i, (600000000 + i)::text AS d FROM generate_series(1, :n) AS i) AS s"
            ),
            {"n": background_customers},
        )
        for cid, _, orders in CUSTOMERS.values():
            await conn.execute(
                text(
                    "INSERT INTO orders (external_id, customer_id, customer_external_id, number, status,"
                    " total_units, refunded_units, currency, placed_at, items, updated_at, synced_at)"
                    f" SELECT 'o{cid}-' || j, {cid}, 'c{cid}', '#' || j,"
                    " CASE WHEN j % 500 = 0 THEN 'cancelled' ELSE 'delivered' END,"
                    " 1000000, 0, 'PLN', now() - (j || ' hours')::interval, '[]'::json, now(), now()"
                    " FROM generate_series(1, :orders) AS j"
                ),
                {"orders": orders},
            )
            await conn.execute(
                text(
                    "INSERT INTO cases (external_id, customer_id, kind, status, subject, opened_at, updated_at)"
                    f" SELECT 'k{cid}-' || j, {cid}, 'return', CASE WHEN j = 1 THEN 'open' ELSE 'closed' END,"
                    " 'Return', now(), now() FROM generate_series(1, GREATEST(CAST(:orders AS int) / 50, 1)) AS j"
                ),
                {"orders": orders},
            )
            await conn.execute(
                text("UPDATE customers SET orders_count = :orders WHERE id = :cid;"),
                {"cid": cid, "orders": orders},
            )
            await conn.execute(
                text(
                    "INSERT INTO customer_ltv (customer_id, currency, amount_units) VALUES (:cid, 'PLN', :u)"
                ),
                {"cid": cid, "u": orders * 1000000},
            )
        await conn.execute(text("SELECT setval('customers_id_seq', :n)"), {"n": background_customers})
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str, samples: int) -> dict[str, list[float]]:
    engine = create_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rules = CardRules.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    timings: dict[str, list[float]] = {}
    async with sessionmaker() as session:
        for label, (_, phone, orders) in CUSTOMERS.items():
            number = normalise(phone, "PL")
            for _ in range(50):
                await build_card(session, number, rules, datetime.now(UTC))
            values = []
            for _ in range(samples):
                started = time.perf_counter()
                card = await build_card(session, number, rules, datetime.now(UTC))
                values.append((time.perf_counter() - started) * 1000)
            assert card["stats"]["orders_count"] == orders and len(card["orders"]) == min(orders, 5)
            timings[f"{label} ({orders:,} orders)"] = values
    await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    url = fresh_database("ringcard_bench_card")
    asyncio.run(populate(url, args.customers))
    timings = asyncio.run(measure(url, args.samples))
    p50 = {}
    for label, values in timings.items():
        q = statistics.quantiles(values, n=100)
        p50[label] = q[49]
        print(f"{label:>24}: p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms")
    small, big = p50.values()
    print(f"big / small p50 = {big / small:.2f}  (budget <= 1.2)")


if __name__ == "__main__":
    main()
