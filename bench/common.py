"""Shared pieces of the benchmarks: a fresh PostgreSQL database and a running service."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("RINGCARD_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    """The service's URL of benchmark database `name` on the benchmarks' PostgreSQL."""
    return PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


def fresh_database(name: str) -> str:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    url = database_url(name)
    from app.db.migrate import upgrade

    upgrade(url)
    return url


async def add_stores(conn: AsyncConnection, stores: int) -> None:
    """Stores s1 … s(N-1) beside `default`: N stores for the `--stores N` runs (issue #19)."""
    await conn.execute(
        text(
            "INSERT INTO stores (id, name, created_at, updated_at)"
            " SELECT 's' || k, 'Store ' || k, now(), now() FROM generate_series(1, :extra) AS k"
        ),
        {"extra": stores - 1},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(base: str, proc: subprocess.Popen[bytes], *, log: str = "") -> None:
    """Return once `base` answers /healthz; raise when the process exits first or after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}{log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the service did not start")


@dataclass(frozen=True)
class Service:
    base: str
    pid: int


def clean_environment() -> dict[str, str]:
    """This process's environment without the shell's RINGCARD_* settings (the benchmarks' own
    RINGCARD_BENCH_* knobs stay): a service measured runs with only what the benchmark sets."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("RINGCARD_") or name.startswith("RINGCARD_BENCH_")
    }


@contextlib.contextmanager
def service_process(env: dict[str, str], *, cwd: Path | None = None) -> Iterator[Service]:
    """The real service in its own process (uvicorn with uvloop/httptools), as an operator runs it,
    configured by `env` alone: it runs in an empty directory (a `cwd` of the caller's, else a
    temporary one), away from a checkout's `.env` and its demo secrets."""
    with contextlib.ExitStack() as stack:
        if cwd is None:
            cwd = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ringcard-bench-")))
        yield stack.enter_context(_service_process(env, cwd))


@contextlib.contextmanager
def _service_process(env: dict[str, str], cwd: Path) -> Iterator[Service]:
    port = free_port()
    full_env = {
        **clean_environment(),
        "PYTHONPATH": str(ROOT),
        **env,
        "RINGCARD_PORT": str(port),
        "RINGCARD_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=cwd, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield Service(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def running_service(env: dict[str, str]) -> Iterator[str]:
    with service_process(env) as service:
        yield service.base


async def at_rate(rate: float, count: int, start: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Start `start(i)` for i in range(count) at `rate` per second (on schedule, not after the
    previous one finished, as providers send), then wait for all of them."""
    begin = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start(i)))
    await asyncio.gather(*tasks)


async def signed_in_agent(http: httpx.AsyncClient, admin_key: str, line: str) -> str:
    """The benchmarks' one agent, `bench`, of `line` (created through the admin API unless it
    exists): its access token. Every simulated console signs in as it."""
    created = await http.post(
        "/api/v1/agents",
        json={"username": "bench", "display_name": "Bench", "password": "bench-password", "lines": [line]},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert created.status_code in (201, 409), created.text
    answer = await http.post("/auth/token", json={"username": "bench", "password": "bench-password"})
    token: str = answer.json()["access_token"]
    return token
