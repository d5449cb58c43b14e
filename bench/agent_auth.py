"""What the per-request token check costs: every agent request reads the agent (active? the
token's version current?) so that a deactivation locks it out at the next request on every
instance (app/agents/access.py).

    .venv/bin/python -m bench.agent_auth [--requests 3000] [--rounds 2] [--sqlite]

Runs the real service (uvicorn with uvloop/httptools, as `ringcard serve`) on a fresh PostgreSQL
database (or a SQLite file), alternately with the check and without it (a service whose agent
dependency only verifies the token's signature, as before the check), and prints p50/p99/mean of
an authenticated `GET /api/v1/calls?limit=1`, sequential on one keep-alive connection, plus the
check alone (`AgentAccess.current`) timed in-process. The client shares the machine's cores with
the service; compare the two columns of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from fastapi import HTTPException, Request

from app.agents.tokens import AgentClaims, read_token
from app.web.auth import bearer_token
from bench.common import ROOT, free_port, fresh_database, wait_until_serving

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
SECRET = "bench-agent-auth-signing-key-0123456789abcdef"
PASSWORD = "correct horse battery"
PATH = "/api/v1/calls?limit=1"


def serve(port: int, *, without_check: bool) -> None:
    """The service as `ringcard serve` runs it; `without_check` restores the signature-only
    agent dependency the check replaced."""
    import uvicorn

    from app.deps import current_agent
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    if without_check:
        app.dependency_overrides[current_agent] = signature_only
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False)


async def signature_only(request: Request) -> AgentClaims:
    """The agent dependency as it was before the check: the token's signature and expiry only."""
    token = bearer_token(request)
    claims = read_token(request.app.state.token_key, token) if token else None
    if claims is None:
        raise HTTPException(401, "a valid agent token is required")
    return claims


@contextlib.contextmanager
def service(env: dict[str, str], *, without_check: bool) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "bench.agent_auth", "--serve", str(port)]
    if without_check:
        args.append("--without-check")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RINGCARD_")}
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**clean, **env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                wait_until_serving(base, proc)
            except RuntimeError as exc:
                log.seek(0)
                raise RuntimeError(f"{exc}:\n{log.read().decode()}") from None
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def timed_requests(base: str, token: str, requests: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for _ in range(200):  # warm the pools and caches
            answer = client.get(PATH)
            assert answer.status_code == 200, answer.text
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            answer = client.get(PATH)
            samples.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    return samples


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50:.3f} ms  p99 {p99:.3f} ms  mean {statistics.fmean(ordered):.3f} ms"


async def check_alone(database_url: str, samples: int) -> list[float]:
    from sqlalchemy import select

    from app.agents.access import AgentAccess
    from app.agents.models import Agent
    from app.agents.tokens import AgentClaims
    from app.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(Agent.id, Agent.token_version))).one()
        access = AgentAccess(engine)
        claims = AgentClaims(row.id, "bench", "Bench", row.token_version)
        for _ in range(200):
            assert await access.current(claims) is not None
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            await access.current(claims)
            timings.append((time.perf_counter() - started) * 1000)
        return timings
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--without-check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, without_check=args.without_check)
        return

    if args.sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        database_url = f"sqlite+aiosqlite:///{path}"
        from app.db.migrate import upgrade

        upgrade(database_url)
    else:
        database_url = fresh_database("ringcard_bench_agent_auth")
    env = {
        "RINGCARD_DATABASE_URL": database_url,
        "RINGCARD_ADMIN_API_KEY": ADMIN_KEY,
        "RINGCARD_SECRET_KEY": SECRET,
    }

    load_before = os.getloadavg()[0]
    results: dict[bool, list[float]] = {False: [], True: []}
    token = ""
    for round_no in range(args.rounds):
        for without_check in (True, False):
            with service(env, without_check=without_check) as base:
                if not token:
                    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
                    agent = {"username": "bench", "display_name": "Bench", "password": PASSWORD}
                    assert httpx.post(f"{base}/api/v1/agents", json=agent, headers=admin).status_code == 201
                    signed = httpx.post(
                        f"{base}/auth/token", json={"username": "bench", "password": PASSWORD}
                    )
                    token = signed.json()["access_token"]
                samples = timed_requests(base, token, args.requests)
            results[without_check] += samples
            label = "without the check" if without_check else "with the check   "
            print(f"round {round_no + 1}, {label}: {percentiles(samples)}")
    alone = asyncio.run(check_alone(database_url, args.requests))
    load_after = os.getloadavg()[0]

    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"\n{backend}, {len(results[True])} requests each, {os.cpu_count()} CPUs, load {load_before:.2f} → {load_after:.2f}"
    )
    print(f"  GET {PATH} without the check: {percentiles(results[True])}")
    print(f"  GET {PATH} with the check:    {percentiles(results[False])}")
    with_p50 = sorted(results[False])[len(results[False]) // 2]
    without_p50 = sorted(results[True])[len(results[True]) // 2]
    print(f"  difference at p50: {with_p50 - without_p50:+.3f} ms")
    print(f"  the check alone (AgentAccess.current, in-process): {percentiles(alone)}")


if __name__ == "__main__":
    main()
