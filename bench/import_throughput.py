"""Bulk import throughput: generate a store (N customers, 5N orders, N/10 cases) as NDJSON, stream it
through POST /api/v1/import into PostgreSQL, print rows/s.

    .venv/bin/python -m bench.import_throughput --customers 200000 [--stores 10]

With `--stores N` (issue #19) the customers go round robin to N stores, each line naming its
store (`"store"`), every store numbering its own records from c0 (so external ids repeat across
stores), in one stream.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psutil

from bench.common import ROOT, fresh_database, running_service

STATUSES = ("delivered",) * 6 + ("shipped", "processing", "cancelled", "refunded", "pending")
FORMATS = ("+48 {a} {b} {c}", "{a}-{b}-{c}", "0048{a}{b}{c}", "{a}{b}{c}")


def phone(rng: random.Random) -> str:
    digits = rng.choice(("50", "51", "53", "60", "66", "69", "72", "79", "88")) + str(
        rng.randrange(10**6, 10**7)
    )
    return rng.choice(FORMATS).format(a=digits[:3], b=digits[3:6], c=digits[6:])


def store_ids(stores: int) -> list[str]:
    return ["default", *(f"s{k}" for k in range(1, stores))]


def generate(path: Path, customers: int, seed: int = 7, stores: int = 1) -> int:
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = 0
    names = store_ids(stores)
    with path.open("wb") as out:
        for n in range(customers):
            p = phone(rng)
            # Customer n is the i-th of its store: the stores' ids overlap, as two shops' do.
            i, store = n // stores, names[n % stores]
            of_store = {"store": store} if stores > 1 else {}
            updated = (now - timedelta(days=rng.randrange(1, 300))).isoformat()
            out.write(
                orjson.dumps(
                    {
                        "type": "customer",
                        **of_store,
                        "external_id": f"c{i}",
                        "first_name": "Anna",
                        "last_name": f"Nowak{i}",
                        "email": f"c{i}@example.pl",
                        "phones": [{"number": p, "kind": "mobile"}],
                        "tags": ["newsletter"] if i % 3 == 0 else [],
                        "updated_at": updated,
                    }
                )
                + b"\n"
            )
            rows += 1
            for j in range(5):
                placed = now - timedelta(days=rng.randrange(1, 700))
                out.write(
                    orjson.dumps(
                        {
                            "type": "order",
                            **of_store,
                            "external_id": f"o{i}-{j}",
                            "customer_external_id": f"c{i}",
                            "name": f"Anna Nowak{i}",
                            "number": f"#{i * 5 + j}",
                            "status": rng.choice(STATUSES),
                            "financial_status": "paid",
                            "total": f"{rng.randrange(1000, 90000) / 100:.2f}",
                            "currency": "PLN",
                            "placed_at": placed.isoformat(),
                            "updated_at": (placed + timedelta(days=2)).isoformat(),
                            "phones": [{"number": p, "kind": "billing"}, {"number": p, "kind": "shipping"}],
                            "items": [{"title": "Mug", "quantity": 1}],
                        }
                    )
                    + b"\n"
                )
                rows += 1
            if n % 10 == 0:
                out.write(
                    orjson.dumps(
                        {
                            "type": "case",
                            **of_store,
                            "external_id": f"k{i}",
                            "customer_external_id": f"c{i}",
                            "order_external_id": f"o{i}-0",
                            "kind": rng.choice(("complaint", "return", "exchange")),
                            "status": "open",
                            "subject": "Parcel damaged",
                            "opened_at": now.isoformat(),
                            "updated_at": now.isoformat(),
                        }
                    )
                    + b"\n"
                )
                rows += 1
    return rows


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _postgres_backends(database: str) -> list[psutil.Process]:
    """The server processes of the benchmark's database (the service's connections)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(database in part for part in process.info["cmdline"] or ()):
                found.append(process)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--stores", type=int, default=1, help="spread the customers over this many stores")
    args = parser.parse_args()

    data = ROOT / "bench" / ".data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"store-{args.customers}-{args.stores}.ndjson"
    started = time.perf_counter()
    rows = generate(path, args.customers, stores=args.stores)
    print(
        f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
    )

    database = "ringcard_bench_import"
    url = fresh_database(database)
    key, admin = "bench-sync-key-0123456789", "bench-admin-key-0123456789"
    environment = {
        "RINGCARD_DATABASE_URL": url,
        "RINGCARD_SYNC_API_KEY": key,
        "RINGCARD_ADMIN_API_KEY": admin,
    }
    with running_service(environment) as base:
        for store in store_ids(args.stores)[1:]:
            made = httpx.put(
                f"{base}/api/v1/stores/{store}",
                json={"name": f"Store {store}"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            made.raise_for_status()

        def body():  # type: ignore[no-untyped-def]
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    yield chunk

        # The client, the service and PostgreSQL share the machine (and may share it with other
        # work): say how busy it was, and where the CPU time went.
        load_before = os.getloadavg()[0]
        service = psutil.Process().children()
        service_cpu = _cpu_seconds(service)
        started = time.perf_counter()
        answer = httpx.post(
            f"{base}/api/v1/import",
            content=body(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
            timeout=3600,
        )
        elapsed = time.perf_counter() - started
        service_cpu = _cpu_seconds(service) - service_cpu
        # Backends live as long as the service's pool, so they are still there to ask.
        database_cpu = _cpu_seconds(_postgres_backends(database))
        load_after = os.getloadavg()[0]
    report = answer.json()
    print(
        f"{args.stores} store(s); import answered {answer.status_code}: applied={report['applied']:,} "
        f"stale={report['stale']} "
        f"rejected={report['rejected']}"
    )
    print(
        f"{os.cpu_count()} CPUs, load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
        f"CPU per row: service {service_cpu / rows * 1e6:.1f} us, PostgreSQL backends "
        f"{database_cpu / rows * 1e6:.1f} us"
    )
    print(f"{rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s  (budget >= 20,000 rows/s)")


if __name__ == "__main__":
    main()
