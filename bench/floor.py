"""The floor of a pop on this machine (issue #20): bench/floor_app.py (one signed webhook, one
indexed statement, one send per socket) on the same database as bench/pop_latency.py, driven by
the same client.

    .venv/bin/python -m bench.floor [--customers 1000000 --rate 20 --seconds 30 --agents 1]

bench/pop_vs_floor.py runs this and the service one after the other and prints the ratio."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from sqlalchemy import text

from app.db import create_engine
from bench.common import ROOT, clean_environment, database_url, free_port, fresh_database, wait_until_serving
from bench.pop_latency import TOKEN, Measured, drive, populate, report

DATABASE = "ringcard_bench_pop"


@contextlib.contextmanager
def floor_service(url: str) -> Iterator[str]:
    """The floor app under uvicorn (uvloop and httptools, as the service runs), on `url`'s database."""
    port = free_port()
    env = {
        **clean_environment(),
        "PYTHONPATH": str(ROOT),
        "RINGCARD_BENCH_FLOOR_DSN": url.replace("postgresql+asyncpg://", "postgresql://"),
        "RINGCARD_BENCH_FLOOR_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--port", str(port)]
    command += ["--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure_floor(url: str, customers: int, rate: float, seconds: float, agents: int) -> Measured:
    with floor_service(url) as base:
        return asyncio.run(drive(base, "floor", customers, rate, seconds, agents))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the populated database of a run before")
    return parser.parse_args()


def database(customers: int, reuse: bool) -> str:
    """The populated benchmark database: made and filled now, or the one a run before left, its
    call log emptied: the runs before left thousands of calls ringing, which the service's quiet-call
    sweeper would close 200 at a time during this run (each an envelope to every agent), a tail
    that real traffic, whose calls end, does not have."""
    if reuse:
        url = database_url(DATABASE)
        asyncio.run(_empty_call_log(url))
        return url
    url = fresh_database(DATABASE)
    asyncio.run(populate(url, customers))
    return url


async def _empty_call_log(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE calls, provider_events, call_topics CASCADE"))
    finally:
        await engine.dispose()


def main() -> None:
    args = arguments()
    url = database(args.customers, args.reuse)
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    report(measure_floor(url, args.customers, args.rate, args.seconds, args.agents))


if __name__ == "__main__":
    main()
