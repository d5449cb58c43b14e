"""GET /api/v1/stats for 30 days over a store with many calls: PostgreSQL with 1M calls, SQLite
with 100k, spread evenly over the year before today, each with its topics (reason, order, product).

    .venv/bin/python -m bench.stats [--pg-calls 1000000 --sqlite-calls 100000 --runs 5]

Prints each database's answer time (median and slowest of --runs, after one warm-up) and how many
calls the 30 days held. Budget (issue #18): < 500 ms on PostgreSQL for 1M calls, < 2 s on SQLite
for 100k."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from app.db import create_engine
from app.db.migrate import upgrade
from bench.common import fresh_database, running_service

ADMIN = "bench-admin-key-0123456789"
DAYS = 365

# One call per row of the series, spread over the year: 3 in 4 answered after 0-40 s, the rest
# missed; lines, agents, numbers and orders drawn from small sets as a real store's are. The
# follow-up flags (set as calls end, app/calls/follow_ups.py) are drawn too: 1 in 5 called again,
# a third of the missed called back; what they cost to count does not depend on which are set.
PG_CALLS = """
INSERT INTO calls (id, provider, provider_call_id, direction, from_raw, from_e164, to_raw, line, state,
  started_at, answered_at, ended_at, waiting_s, talking_s, answered_by, blocked, done, called_again,
  called_back, seq, updated_at)
SELECT lpad(to_hex(i), 20, '0'), 'cti', 'bench-' || i, 'in', '+4860' || (1000000 + i % 50000),
  '+4860' || (1000000 + i % 50000), '+48221234567', '+48221234567',
  CASE WHEN i % 4 = 0 THEN 'missed' ELSE 'completed' END,
  now() - (i * (:days * 86400.0 / :n)) * interval '1 second',
  CASE WHEN i % 4 = 0 THEN NULL ELSE now() - (i * (:days * 86400.0 / :n) - i % 40) * interval '1 second' END,
  now() - (i * (:days * 86400.0 / :n) - 200) * interval '1 second',
  i % 40, CASE WHEN i % 4 = 0 THEN NULL ELSE 60 + i % 300 END,
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'agent' || (i % 12) END, false, i % 8 = 0, i % 5 = 1, i % 12 = 4, 1, now()
FROM generate_series(1, :n) AS i
"""
PG_TOPICS = """
INSERT INTO call_topics (call_id, kind, key, label, started_at)
SELECT id, 'reason', (ARRAY['none','where_is_my_order','open_complaint','return_in_progress'])[1 + n % 4],
  (ARRAY['none','where_is_my_order','open_complaint','return_in_progress'])[1 + n % 4], started_at
FROM (SELECT id, started_at, substr(provider_call_id, 7)::bigint AS n FROM calls) AS c
UNION ALL
SELECT id, 'order', '#' || (n % 20000), '#' || (n % 20000), started_at
FROM (SELECT id, started_at, substr(provider_call_id, 7)::bigint AS n FROM calls) AS c WHERE n % 2 = 1
UNION ALL
SELECT id, 'product', 'SKU-' || (n % 300), 'Product ' || (n % 300), started_at
FROM (SELECT id, started_at, substr(provider_call_id, 7)::bigint AS n FROM calls) AS c WHERE n % 2 = 1
"""


def populate_sqlite_sql(n: int) -> list[str]:
    series = f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"
    step = DAYS * 86400.0 / n
    return [
        f"""{series}
INSERT INTO calls (id, provider, provider_call_id, direction, from_raw, from_e164, to_raw, line, state,
  started_at, answered_at, ended_at, waiting_s, talking_s, answered_by, blocked, done, called_again,
  called_back, seq, updated_at)
SELECT printf('%020x', i), 'cti', 'bench-' || i, 'in', '+4860' || (1000000 + i % 50000),
  '+4860' || (1000000 + i % 50000), '+48221234567', '+48221234567',
  CASE WHEN i % 4 = 0 THEN 'missed' ELSE 'completed' END,
  datetime('now', '-' || (i * {step}) || ' seconds'),
  CASE WHEN i % 4 = 0 THEN NULL ELSE datetime('now', '-' || (i * {step} - i % 40) || ' seconds') END,
  datetime('now', '-' || (i * {step} - 200) || ' seconds'),
  i % 40, CASE WHEN i % 4 = 0 THEN NULL ELSE 60 + i % 300 END,
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'agent' || (i % 12) END, 0, i % 8 = 0, i % 5 = 1, i % 12 = 4, 1,
  datetime('now')
FROM s""",
        f"""{series}
INSERT INTO call_topics (call_id, kind, key, label, started_at)
SELECT printf('%020x', i), 'reason', r, r, datetime('now', '-' || (i * {step}) || ' seconds')
FROM (SELECT i, CASE i % 4 WHEN 0 THEN 'none' WHEN 1 THEN 'where_is_my_order' WHEN 2 THEN 'open_complaint'
  ELSE 'return_in_progress' END AS r FROM s)""",
        f"""{series}
INSERT INTO call_topics (call_id, kind, key, label, started_at)
SELECT printf('%020x', i), 'order', '#' || (i % 20000), '#' || (i % 20000),
  datetime('now', '-' || (i * {step}) || ' seconds') FROM s WHERE i % 2 = 1""",
        f"""{series}
INSERT INTO call_topics (call_id, kind, key, label, started_at)
SELECT printf('%020x', i), 'product', 'SKU-' || (i % 300), 'Product ' || (i % 300),
  datetime('now', '-' || (i * {step}) || ' seconds') FROM s WHERE i % 2 = 1""",
    ]


async def populate_pg(url: str, n: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(PG_CALLS), {"n": n, "days": DAYS})
        await conn.execute(text(PG_TOPICS))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def populate_sqlite(url: str, n: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        for statement in populate_sqlite_sql(n):
            await conn.execute(text(statement))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def timed(base: str, runs: int) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, timeout=120) as http:
        warm = http.get("/api/v1/stats?from=" + _days_ago(29) + "&to=" + _days_ago(0), headers=headers)
        assert warm.status_code == 200, warm.text
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = http.get("/api/v1/stats?from=" + _days_ago(29) + "&to=" + _days_ago(0), headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    return times, warm.json()["kpis"]["offered"]


def _days_ago(days: int) -> str:
    from datetime import date, timedelta

    return (date.today() - timedelta(days=days)).isoformat()


def report(name: str, calls: int, times: list[float], offered: int, budget_ms: float) -> None:
    print(
        f"{name}: {calls:,} calls, 30 days hold {offered:,}: median {statistics.median(times):.0f} ms, "
        f"slowest {max(times):.0f} ms (budget < {budget_ms:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-calls", type=int, default=1_000_000)
    parser.add_argument("--sqlite-calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {"RINGCARD_ADMIN_API_KEY": ADMIN, "RINGCARD_DEFAULT_REGION": "PL"}

    url = fresh_database("ringcard_bench_stats")
    started = time.perf_counter()
    asyncio.run(populate_pg(url, args.pg_calls))
    print(f"PostgreSQL: {args.pg_calls:,} calls written in {time.perf_counter() - started:.0f} s")
    with running_service({**env, "RINGCARD_DATABASE_URL": url}) as base:
        times, offered = timed(base, args.runs)
    report("PostgreSQL", args.pg_calls, times, offered, 500)

    with tempfile.TemporaryDirectory(prefix="ringcard-bench-stats-") as tmp:
        lite = f"sqlite+aiosqlite:///{Path(tmp) / 'stats.db'}"
        upgrade(lite)
        asyncio.run(populate_sqlite(lite, args.sqlite_calls))
        with running_service({**env, "RINGCARD_DATABASE_URL": lite}) as base:
            times, offered = timed(base, args.runs)
        report("SQLite", args.sqlite_calls, times, offered, 2000)


if __name__ == "__main__":
    main()
