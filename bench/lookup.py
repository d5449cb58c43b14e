"""Caller lookup latency at 10k and at 1M customers (3 phones each) on PostgreSQL.

    .venv/bin/python -m bench.lookup [--big 1000000] [--stores 10]

Prints p50/p99 of the match (the lookup's one statement) for known numbers and unknown ones.
Budget (issue #3): the 1M p50 within 1.3x of the 10k p50; at most 2 round trips per lookup
(asserted by tests/card/test_card.py, which counts statements). With `--stores N` (issue #19)
the big database is N stores of big/N customers each, every store using the same external ids
(`c1`, `c2`, …), and each known number is looked up for a call on its own store's line."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from sqlalchemy import text

from app.card.matching import match_number
from app.db import create_engine, make_sessionmaker
from app.kit.phones import normalise
from bench.common import add_stores, fresh_database

FIRST_NUMBER = 500_000_000


def store_of(customer_id: int, stores: int) -> str:
    """The store customer `customer_id` belongs to: round robin over `default`, s1, s2, …"""
    index = (customer_id - 1) % stores
    return "default" if index == 0 else f"s{index}"


async def populate(url: str, customers: int, stores: int = 1) -> None:
    """Set-based in PostgreSQL: the benchmark measures lookups, not the importer."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await add_stores(conn, stores)
        # Customer i is in store (i - 1) % stores, under the external id its store numbers it by:
        # every store has its own c1, c2, ...
        await conn.execute(
            text(
                "INSERT INTO customers (id, store_id, external_id, first_name, last_name, tags, updated_at,"
                " synced_at, orders_count, returns_count)"
                " SELECT i, CASE WHEN (i - 1) % :stores = 0 THEN 'default' ELSE 's' || ((i - 1) % :stores) END,"
                " 'c' || ((i - 1) / :stores + 1), 'Anna', 'Nowak' || i, '[]'::json, now(), now(), 0, 0"
                " FROM generate_series(1, :n) AS i"
            ),
            {"n": customers, "stores": stores},
        )
        await conn.execute(
            text(
                "INSERT INTO phones (customer_id, source, raw, e164, national, reversed_digits, country_code)"
                " SELECT i, 'customer.mobile', d, '+48' || d, d, reverse('48' || d), 48"
                " FROM (SELECT i, (:first + i * 3 + k)::text AS d"
                "       FROM generate_series(1, :n) AS i, generate_series(0, 2) AS k) AS s"
            ),
            {"n": customers, "first": FIRST_NUMBER},
        )
        await conn.execute(text("SELECT setval('customers_id_seq', :n)"), {"n": customers})
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str, customers: int, samples: int, stores: int = 1) -> dict[str, list[float]]:
    engine = create_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(1)
    picked = [rng.randrange(1, customers) for _ in range(samples)]
    # Each known number rings on its own store's line; an unknown one on any store's.
    known = [(f"+48{FIRST_NUMBER + c * 3 + rng.randrange(3)}", store_of(c, stores)) for c in picked]
    unknown = [(f"+4869{rng.randrange(10**6, 10**7)}", store_of(c, stores)) for c in picked]
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    async with sessionmaker() as session:
        for label, numbers in (("known", known), ("unknown", unknown)):
            for raw, home in numbers[:50]:  # warm the pool, the plan cache and the page cache
                await match_number(session, normalise(raw, "PL"), suffix_digits=9, home=home)
            for raw, home in numbers:
                started = time.perf_counter()
                match = await match_number(session, normalise(raw, "PL"), suffix_digits=9, home=home)
                timings[label].append((time.perf_counter() - started) * 1000)
                if label == "known":
                    assert match.status.value == "exact", (raw, match.status)
                    assert match.candidates[0].store_id == home, (raw, home)
            await session.rollback()
    await engine.dispose()
    return timings


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=1, help="split the big database over this many stores")
    args = parser.parse_args()
    p50s: dict[int, float] = {}
    for customers in (args.small, args.big):
        stores = args.stores if customers == args.big else 1
        url = fresh_database(f"ringcard_bench_lookup_{customers}")
        started = time.perf_counter()
        asyncio.run(populate(url, customers, stores))
        print(
            f"{customers:>9,} customers in {stores} store(s), {customers * 3:,} phones loaded"
            f" in {time.perf_counter() - started:.1f} s"
        )
        timings = asyncio.run(measure(url, customers, args.samples, stores))
        for label, values in timings.items():
            print(f"    {label:>7}: p50 {pct(values, 50):.3f} ms   p99 {pct(values, 99):.3f} ms")
        p50s[customers] = pct(timings["known"], 50)
    ratio = p50s[args.big] / p50s[args.small]
    print(f"p50 at {args.big:,} / p50 at {args.small:,} = {ratio:.2f}  (budget <= 1.3)")


if __name__ == "__main__":
    main()
