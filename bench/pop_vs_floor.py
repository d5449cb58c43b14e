"""Ringcard's pop against the floor (issue #20), in one run: the same populated database, the
same client (bench/pop_latency.drive), the floor first (bench/floor_app.py), then the service,
with the machine's load before each.

    .venv/bin/python -m bench.pop_vs_floor [--customers 1000000 --rate 20 --seconds 30 --agents 1]

Goal: Ringcard's p50 <= 1.5x the floor's and p99 <= 2x at 20 calls/s with one agent."""

from __future__ import annotations

import asyncio
import os

import httpx

from bench.common import running_service, signed_in_agent
from bench.floor import arguments, database, measure_floor
from bench.pop_latency import ADMIN, LINE, Measured, drive, pct, report, service_env


async def _ringcard(base: str, customers: int, rate: float, seconds: float, agents: int) -> Measured:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = await signed_in_agent(http, ADMIN, LINE)
    return await drive(base, token, customers, rate, seconds, agents)


def main() -> None:
    args = arguments()
    url = database(args.customers, args.reuse)
    print(f"floor: load average (1 min) before {os.getloadavg()[0]:.2f}")
    floor = measure_floor(url, args.customers, args.rate, args.seconds, args.agents)
    report(floor)
    with running_service(service_env(url, args.agents)) as base:
        print(f"ringcard: load average (1 min) before {os.getloadavg()[0]:.2f}")
        ours = asyncio.run(_ringcard(base, args.customers, args.rate, args.seconds, args.agents))
    report(ours)
    for q, goal in ((50, 1.5), (99, 2.0)):
        ratio = pct(ours.pops, q) / pct(floor.pops, q)
        print(
            f"pop p{q}: ringcard {pct(ours.pops, q):.1f} ms / floor {pct(floor.pops, q):.1f} ms = {ratio:.2f}x  (goal <= {goal}x)"
        )


if __name__ == "__main__":
    main()
