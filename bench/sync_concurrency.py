"""The store sync API under many concurrent writers of overlapping records.

N writers PUT orders (and now and then their customers) for a fixed time, drawing from a small
pool of records so that they collide all the time: orders move between customers, change
currency, status, totals and dates, arrive out of order. Then every customer's stored aggregates
(orders count, lifetime value per currency, first/last order) are compared with the same figures
recomputed from the stored orders, and every order with the newest version any writer sent.

    python -m bench.sync_concurrency [--writers 32] [--seconds 20] [--database postgresql|sqlite]

Prints writes/s, the answers by status (5xx must be 0), and the mismatches (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.db import create_engine
from app.db.migrate import upgrade
from app.store.models import Customer, CustomerLifetimeValue, Order
from app.store.schemas import NON_REVENUE_STATUSES
from bench.common import fresh_database, running_service

KEY = "bench-sync-key-0123456789"
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
STATUSES = ["pending", "processing", "shipped", "delivered", "cancelled", "refunded"]


def order_body(rng: random.Random, customers: int, version: int) -> dict[str, Any]:
    return {
        "customer_external_id": f"c-{rng.randrange(customers)}" if rng.random() < 0.9 else None,
        "name": "Anna Nowak",
        "number": f"#{rng.randrange(10_000)}",
        "status": rng.choice(STATUSES),
        "total": f"{rng.randint(1, 2_000)}.{rng.randint(0, 99):02d}",
        "currency": rng.choice(["PLN", "PLN", "EUR"]),
        "placed_at": (T0 - timedelta(days=rng.randint(1, 900))).isoformat(),
        # Versions collide on purpose: equal timestamps are repeats, older ones are stale.
        "updated_at": (T0 + timedelta(milliseconds=version)).isoformat(),
        "phones": [
            {"number": f"+48 601 {rng.randrange(1000):03d} {rng.randrange(1000):03d}", "kind": "billing"}
        ],
    }


async def drive(
    base: str, writers: int, seconds: float, customers: int, orders: int
) -> tuple[Counter[int], dict[str, str], int]:
    statuses: Counter[int] = Counter()
    newest: dict[str, str] = {}
    sent = 0
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=writers, max_keepalive_connections=writers)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:
        await asyncio.gather(
            *(
                http.put(
                    f"/api/v1/customers/c-{i}", json={"first_name": "Anna", "updated_at": T0.isoformat()}
                )
                for i in range(customers)
            )
        )

        async def writer(seed: int) -> None:
            nonlocal sent
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                ext = f"o-{rng.randrange(orders)}"
                body = order_body(rng, customers, rng.randrange(5_000))
                answer = await http.put(f"/api/v1/orders/{ext}", json=body)
                statuses[answer.status_code] += 1
                sent += 1
                if answer.status_code == 200 and (ext not in newest or body["updated_at"] > newest[ext]):
                    newest[ext] = body["updated_at"]

        await asyncio.gather(*(writer(seed) for seed in range(writers)))
    return statuses, newest, sent


async def mismatches(url: str, newest: dict[str, str]) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            customers = (
                await conn.execute(
                    select(
                        Customer.id,
                        Customer.external_id,
                        Customer.orders_count,
                        Customer.first_order_at,
                        Customer.last_order_at,
                    )
                )
            ).all()
            orders = (
                await conn.execute(
                    select(
                        Order.external_id,
                        Order.customer_id,
                        Order.status,
                        Order.currency,
                        Order.total_units,
                        Order.refunded_units,
                        Order.placed_at,
                        Order.updated_at,
                    )
                )
            ).all()
            ltv = (
                await conn.execute(
                    select(
                        CustomerLifetimeValue.customer_id,
                        CustomerLifetimeValue.currency,
                        CustomerLifetimeValue.amount_units,
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    problems: list[str] = []
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for row in orders:
        if row.customer_id is not None:
            by_customer[row.customer_id].append(row)
        if row.updated_at != datetime.fromisoformat(newest[row.external_id]):
            problems.append(
                f"order {row.external_id}: stored {row.updated_at}, newest sent {newest[row.external_id]}"
            )
    stored_ltv: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, currency, units in ltv:
        if units:
            stored_ltv[cid][currency] = units
    for cid, ext, count, first, last in customers:
        mine = by_customer.get(cid, [])
        expected: dict[str, int] = defaultdict(int)
        for o in mine:
            if o.status not in NON_REVENUE_STATUSES:
                expected[o.currency] += max(o.total_units - o.refunded_units, 0)
        placed = [o.placed_at for o in mine]
        want = (
            len(mine),
            min(placed, default=None),
            max(placed, default=None),
            {k: v for k, v in expected.items() if v},
        )
        have = (count, first, last, stored_ltv.get(cid, {}))
        if want != have:
            problems.append(f"customer {ext}: stored {have}, its orders say {want}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    if args.database == "postgresql":
        url = fresh_database("ringcard_bench_sync")
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
        upgrade(url)
    with running_service({"RINGCARD_DATABASE_URL": url, "RINGCARD_SYNC_API_KEY": KEY}) as base:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        statuses, newest, sent = asyncio.run(
            drive(base, args.writers, args.seconds, args.customers, args.orders)
        )
        elapsed = time.perf_counter() - started
    problems = asyncio.run(mismatches(url, newest))
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    print(
        f"{args.database}: {args.writers} writers over {args.orders} orders of {args.customers} customers, "
        f"{os.cpu_count()} CPUs, load {load:.2f} before"
    )
    print(
        f"{sent:,} writes in {elapsed:.1f} s = {sent / elapsed:,.0f} writes/s; answers {dict(sorted(statuses.items()))}"
    )
    print(
        f"5xx: {server_errors}  mismatches between stored and recomputed: {len(problems)}  (both must be 0)"
    )
    for problem in problems[:10]:
        print("  " + problem)


if __name__ == "__main__":
    main()
