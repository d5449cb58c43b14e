"""Card build latency for a customer with 2 orders and one with 20,000 on PostgreSQL.

    .venv/bin/python -m bench.card [--stores 10]

Budget (issue #4): the big customer's p50 within 1.2x of the small one's; at most 3 statements
per card (asserted by tests/card/test_card.py). With `--stores N` (issue #19) the background
customers are spread over N stores, and both timed customers are known in every other store too,
under the same phone (each with an order there): the worst case for a card, whose "also a
customer of" section then lists other stores (at most 5) at one more statement."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import text

from app.card.build import build_card
from app.card.rules import CardRules
from app.db import create_engine, make_sessionmaker
from app.kit.phones import normalise
from app.settings import Settings
from app.stores.models import Store
from app.stores.records import view_of
from bench.common import add_stores, fresh_database

CUSTOMERS = {"small": (1, "+48600000001", 2), "big": (2, "+48600000002", 20_000)}


def store_ids(stores: int) -> list[str]:
    return ["default", *(f"s{k}" for k in range(1, stores))]


async def populate(url: str, background_customers: int, stores: int = 1) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await add_stores(conn, stores)
        # A realistic neighbourhood: many customers with a few orders each, plus the two we time
        # (in the default store; the others round robin over the stores).
        await conn.execute(
            text(
                "INSERT INTO customers (id, store_id, external_id, first_name, last_name, tags, updated_at,"
                " synced_at, orders_count, returns_count, last_order_at)"
                " SELECT i, CASE WHEN i <= 2 OR (i - 1) % :stores = 0 THEN 'default'"
                " ELSE 's' || ((i - 1) % :stores) END, 'c' || i, 'Anna', 'Nowak', '[]'::json, now(), now(),"
                " 0, 0, now() FROM generate_series(1, :n) AS i"
            ),
            {"n": background_customers, "stores": stores},
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
        # The two timed customers in every other store: the same phone, one order, a value.
        for k, store in enumerate(store_ids(stores)[1:], start=1):
            for cid, phone, _ in CUSTOMERS.values():
                twin = background_customers + k * 10 + cid
                await conn.execute(
                    text(
                        "INSERT INTO customers (id, store_id, external_id, first_name, last_name, tags,"
                        " updated_at, synced_at, orders_count, returns_count, last_order_at)"
                        f" VALUES ({twin}, :store, 'c{cid}', 'Anna', 'Nowak', '[]'::json, now(), now(), 1, 0,"
                        " now())"
                    ),
                    {"store": store},
                )
                await conn.execute(
                    text(
                        "INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits,"
                        " country_code) VALUES (:id, 'customer.mobile', :raw, :e164, :national,"
                        " reverse(:digits), 48)"
                    ),
                    {"id": twin, "raw": phone[3:], "e164": phone, "national": phone[3:], "digits": phone[1:]},
                )
                await conn.execute(
                    text(
                        "INSERT INTO orders (store_id, external_id, customer_id, customer_external_id, number,"
                        " status, total_units, refunded_units, currency, placed_at, items, updated_at,"
                        f" synced_at) VALUES (:store, 'o{cid}-1', {twin}, 'c{cid}', '#1', 'delivered',"
                        " 5000000, 0, 'PLN', now(), '[]'::json, now(), now())"
                    ),
                    {"store": store},
                )
                await conn.execute(
                    text(
                        f"INSERT INTO customer_ltv (customer_id, currency, amount_units) VALUES ({twin}, 'PLN', 5000000)"
                    )
                )
        await conn.execute(
            text("SELECT setval('customers_id_seq', :n)"), {"n": background_customers + stores * 10 + 10}
        )
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def store_rules(settings: Settings, stores: int) -> dict[str, CardRules]:
    """Each store's card rules, as the app compiles them (app/card/store_rules.py)."""
    if stores == 1:
        return {"default": CardRules.from_settings(settings)}
    return {
        store_id: CardRules.for_store(
            settings, view_of(Store(id=store_id, name=store_id), [], settings), named=True
        )
        for store_id in store_ids(stores)
    }


async def measure(url: str, samples: int, stores: int = 1) -> dict[str, list[float]]:
    engine = create_engine(url)
    sessionmaker = make_sessionmaker(engine)
    by_store = store_rules(Settings(_env_file=None), stores)  # type: ignore[call-arg]
    rules = by_store["default"]
    timings: dict[str, list[float]] = {}
    async with sessionmaker() as session:
        for label, (_, phone, orders) in CUSTOMERS.items():
            number = normalise(phone, "PL")
            for _ in range(50):
                await build_card(session, number, rules, datetime.now(UTC), rules_of=by_store.__getitem__)
            values = []
            for _ in range(samples):
                started = time.perf_counter()
                card = await build_card(
                    session, number, rules, datetime.now(UTC), rules_of=by_store.__getitem__
                )
                values.append((time.perf_counter() - started) * 1000)
            assert card["stats"]["orders_count"] == orders and len(card["orders"]) == min(orders, 5)
            assert len(card["also_customer_of"]) == min(stores - 1, 5), card["also_customer_of"]
            timings[f"{label} ({orders:,} orders)"] = values
    await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=1, help="spread the customers over this many stores")
    args = parser.parse_args()
    url = fresh_database("ringcard_bench_card")
    asyncio.run(populate(url, args.customers, args.stores))
    timings = asyncio.run(measure(url, args.samples, args.stores))
    print(f"{args.customers:,} customers in {args.stores} store(s)")
    p50 = {}
    for label, values in timings.items():
        q = statistics.quantiles(values, n=100)
        p50[label] = q[49]
        print(f"{label:>24}: p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms")
    small, big = p50.values()
    print(f"big / small p50 = {big / small:.2f}  (budget <= 1.2)")


if __name__ == "__main__":
    main()
