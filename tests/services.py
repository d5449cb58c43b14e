"""Real PostgreSQL and Redis for the tests. scripts/test.sh starts them when they are stopped; here
we only check, and a missing service fails the run loudly instead of skipping tests."""

from __future__ import annotations

import os
import socket

import pytest

PG_ADMIN_DSN = os.environ.get("RINGCARD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("RINGCARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if not port_open(host, port):
        pytest.fail(
            f"{name} is not reachable on {host}:{port}. Run the suite with `bash scripts/test.sh`, "
            "which starts it, or start it yourself: these tests never skip a missing service.",
            pytrace=False,
        )
