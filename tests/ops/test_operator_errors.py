"""Every operator mistake ends in one clear line on stderr and a non-zero exit, never a traceback
(unless RINGCARD_DEBUG=1) and never a secret: the real `ringcard` command, in a process of its
own, in an empty directory (no .env), configured only by what each test sets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade
from tests.conftest import MigratedDatabases, in_own_thread
from tests.fixtures.services import PG_ADMIN_DSN
from tests.fixtures.throwaway_services import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
DB_SECRET = "s3cret-db-password"
PRODUCTION = {"RINGCARD_ENV": "production", "RINGCARD_SECRET_KEY": secrets.token_urlsafe(32)}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def line(self) -> str:
        """The one line on stderr (and that there is one, without a traceback)."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("ringcard: "), lines[0]
        return lines[0]


def environment(**settings: str) -> dict[str, str]:
    # os.environ holds no RINGCARD_* setting here (tests/conftest.py).
    return {**os.environ, "PYTHONPATH": str(REPO), **settings}


def ringcard(cwd: Path, *args: str, timeout: float = 60, **settings: str) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=environment(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def closed_port() -> int:
    return free_port()  # free, so nothing answers there


def pg_url(database: str, *, port: int | None = None, password: str | None = None) -> str:
    url = make_url(PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://")).set(database=database)
    if port is not None:
        url = url.set(port=port)
    if password is not None:
        url = url.set(password=password)
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def empty_pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own with nothing in it (never migrated)."""
    name = f"ringcard_unmigrated_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield pg_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- one command, one mistake, one line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "settings", "status", "expected"),
    [
        pytest.param(
            ("migrate",),
            {"RINGCARD_DATABASE_URL": "not a url"},
            2,
            "RINGCARD_DATABASE_URL: not a database URL this service can use; use postgresql+asyncpg://",
            id="database-url-not-a-url",
        ),
        pytest.param(
            ("list-agents",),
            {"RINGCARD_DATABASE_URL": "postgresql://postgres@127.0.0.1/ringcard"},
            2,
            "RINGCARD_DATABASE_URL: not a database URL this service can use",
            id="database-url-without-the-async-driver",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_DATABASE_URL": "sqlite+aiosqlite:////no/such/directory/ringcard.db"},
            1,
            "cannot open the SQLite database sqlite+aiosqlite:////no/such/directory/ringcard.db: its "
            "directory must exist",
            id="sqlite-in-a-missing-directory",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_DATABASE_URL": pg_url("ringcard_no_such_database")},
            1,
            'database "ringcard_no_such_database" does not exist: create it (`createdb -O postgres '
            "ringcard_no_such_database`",
            id="missing-database",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_DATABASE_URL": pg_url("postgres").replace("postgres@", "ringcard_no_such_role@")},
            1,
            'role "ringcard_no_such_role" does not exist: create the role or fix RINGCARD_DATABASE_URL',
            id="missing-role",
        ),
        pytest.param(
            ("migrate",),
            {
                "RINGCARD_DATABASE_URL": pg_url("ringcard", port=closed_port(), password=DB_SECRET),
                "RINGCARD_DB_WAIT_S": "0",
            },
            1,
            "connection refused; is the database running?",
            id="database-down",
        ),
        pytest.param(
            ("list-agents",),
            {"RINGCARD_DATABASE_URL": pg_url("ringcard", port=closed_port(), password=DB_SECRET)},
            1,
            "cannot reach the database at postgresql+asyncpg://postgres:***@127.0.0.1:",
            id="database-down-for-an-agent-command",
        ),
        pytest.param(
            ("migrate",),
            {
                "RINGCARD_DATABASE_URL": "postgresql+asyncpg://u@ringcard-db.invalid/x",
                "RINGCARD_DB_WAIT_S": "0",
            },
            1,
            "ringcard-db.invalid is not a known host (RINGCARD_DATABASE_URL)",
            id="unknown-database-host",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_PORT": "eighty"},
            2,
            "invalid configuration: RINGCARD_PORT: Input should be a valid integer",
            id="setting-not-a-number",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_ENV": "prod"},
            2,
            "invalid configuration: RINGCARD_ENV: Input should be 'development' or 'production'",
            id="setting-not-one-of-its-values",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_MAX_SOCKETS_PER_AGENT": "0"},
            2,
            "RINGCARD_MAX_SOCKETS_PER_AGENT: Input should be greater than or equal to 1",
            id="setting-out-of-range",
        ),
        pytest.param(
            ("migrate",),
            {**PRODUCTION, "RINGCARD_ADMIN_API_KEY": "changeme"},
            2,
            "invalid configuration: RINGCARD_ADMIN_API_KEY looks like a placeholder; use a long random value",
            id="placeholder-secret-in-production",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_ORDER_URL_TEMPLATE": "https://shop.example/admin/orders/{id}"},
            2,
            "invalid configuration: RINGCARD_ORDER_URL_TEMPLATE: has an unknown placeholder {id}; "
            "use {external_id}, {number}",
            id="link-template-with-an-unknown-placeholder",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_CASE_URL_TEMPLATE": "javascript:alert({external_id})"},
            2,
            "invalid configuration: RINGCARD_CASE_URL_TEMPLATE: must start with http: or https:",
            id="link-template-not-a-web-page",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_CALLBACK_URL_TEMPLATE": "{e164}"},
            2,
            "invalid configuration: RINGCARD_CALLBACK_URL_TEMPLATE: must start with callto: or http: or "
            "https: or sip: or sips: or tel:",
            id="callback-template-without-a-scheme",
        ),
        pytest.param(
            ("migrate",),
            {"RINGCARD_SHOPIFY_SHOP": "shop.example.com"},
            2,
            "invalid configuration: RINGCARD_SHOPIFY_SHOP: not a Shopify store: give its handle (acme)",
            id="shopify-shop-a-custom-domain",
        ),
        pytest.param(
            ("import", "store.ndjson"),
            {},
            1,
            "cannot import store.ndjson: no such file (give the path of an NDJSON file)",
            id="import-a-missing-file",
        ),
        pytest.param(
            ("import", "."),
            {},
            1,
            "cannot import .: a directory",
            id="import-a-directory",
        ),
        pytest.param(
            ("create-agent", "ola", "--display-name", "Ola", "--password", "x"),
            {},
            1,
            "ringcard: --password: at least 8 characters (at most 1024)",
            id="password-too-short",
        ),
        pytest.param(
            ("create-agent", "ola", "--display-name", "Ola", "--password", PASSWORD),
            {},
            1,
            "is not migrated, or is older than this version: run `ringcard migrate` first",
            id="unmigrated-database",
        ),
        pytest.param(
            ("simulate-call", "--from", "+48601234567"),
            {},
            1,
            "RINGCARD_TWILIO_AUTH_TOKEN is not set (run `ringcard serve --demo` once, or set it)",
            id="simulate-without-a-token",
        ),
    ],
)
def test_a_mistake_is_one_line_and_a_failure_status(
    tmp_path: Path, args: tuple[str, ...], settings: dict[str, str], status: int, expected: str
) -> None:
    settings = {"RINGCARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ringcard.db'}", **settings}
    ran = ringcard(tmp_path, *args, **settings)
    assert ran.returncode == status, ran.stderr
    assert expected in ran.line
    for secret in (DB_SECRET, "changeme", PRODUCTION["RINGCARD_SECRET_KEY"]):
        assert secret not in ran.stderr + ran.stdout


def test_simulate_call_without_a_service_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    port = closed_port()
    ran = ringcard(
        tmp_path,
        *("simulate-call", "--from", "+48601234567"),
        RINGCARD_TWILIO_AUTH_TOKEN="a-token",
        RINGCARD_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    assert ran.returncode == 1
    assert ran.line == (
        f"ringcard: no Ringcard service answers at http://127.0.0.1:{port}: start it with "
        "`ringcard serve --demo`, or pass --url"
    )
    # Without a public URL it looks at RINGCARD_HOST:RINGCARD_PORT.
    ran = ringcard(
        tmp_path,
        *("simulate-call", "--from", "+48601234567"),
        RINGCARD_TWILIO_AUTH_TOKEN="t",
        RINGCARD_PORT=str(port),
    )
    assert f"no Ringcard service answers at http://127.0.0.1:{port}:" in ran.line


async def test_a_duplicate_agent_is_one_line_without_its_hash_or_password(
    database_url: str, tmp_path: Path
) -> None:
    create = ("create-agent", "ola", "--display-name", "Ola K.", "--password", PASSWORD)
    first = await asyncio.to_thread(ringcard, tmp_path, *create, RINGCARD_DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    again = await asyncio.to_thread(ringcard, tmp_path, *create, RINGCARD_DATABASE_URL=database_url)
    assert again.returncode == 1
    assert (
        again.line == "ringcard: an agent with that username exists already (ringcard list-agents shows them)"
    )
    assert "argon2" not in again.stderr + again.stdout and PASSWORD not in again.stderr + again.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    ran = ringcard(tmp_path, "import", "store.ndjson", RINGCARD_DEBUG="1")
    assert ran.returncode != 0
    assert "Traceback" in ran.stderr and "OperatorError: cannot import store.ndjson" in ran.stderr


# --- serve ---------------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = ringcard(tmp_path, "serve", "--port", str(port))
    assert ran.returncode == 1
    assert ran.line == (
        f"ringcard: port {port} on 127.0.0.1 is in use (another `ringcard serve`?): stop that, "
        "or choose another with --port or RINGCARD_PORT"
    )


def test_serve_without_its_database_gives_up_after_waiting_with_one_line(tmp_path: Path) -> None:
    url = pg_url("ringcard", port=closed_port(), password=DB_SECRET)
    at_once = ringcard(tmp_path, "serve", "--port", "0", RINGCARD_DATABASE_URL=url, RINGCARD_DB_WAIT_S="0")
    assert at_once.returncode == 1
    assert "cannot reach the database at postgresql+asyncpg://postgres:***@" in at_once.line
    assert "connection refused; is the database running?" in at_once.line

    began = time.monotonic()
    waited = ringcard(tmp_path, "serve", "--port", "0", RINGCARD_DATABASE_URL=url, RINGCARD_DB_WAIT_S="1.5")
    assert time.monotonic() - began >= 1.5
    assert waited.returncode == 1 and "Traceback" not in waited.stderr
    notice, last = waited.stderr.strip().splitlines()
    assert "WARNING" in notice and "waiting for the database" in notice and "up to 1.5 s" in notice
    assert last.startswith("ringcard: cannot reach the database") and last.endswith(
        "(waited 1.5 s: RINGCARD_DB_WAIT_S)"
    )
    assert DB_SECRET not in waited.stderr + at_once.stderr


@contextlib.contextmanager
def serving(cwd: Path, port: int, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=cwd,
            env=environment(**settings),
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        yield process, log
    finally:
        process.terminate()
        process.wait(timeout=30)


async def until_ready(port: int, process: subprocess.Popen[bytes], log: Path, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    pytest.fail(f"not ready within {within_s} s:\n{log.read_text()}")


async def test_serve_waits_for_a_database_that_starts_after_it(
    migrated: MigratedDatabases, tmp_path: Path
) -> None:
    """A container started before its database: the database's port opens once `serve` says it
    waits (a forwarder to the real server, opened late), and `serve` comes up then."""
    real = make_url(migrated.url("postgresql"))
    late_port = free_port()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(real.host, real.port or 5432)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    url = real.set(port=late_port).render_as_string(hide_password=False)
    port = free_port()
    with serving(tmp_path, port, RINGCARD_DATABASE_URL=url, RINGCARD_DB_WAIT_S="30") as (process, log):
        deadline = time.monotonic() + 30
        while "waiting for the database" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # a retry or two on the closed port
        assert process.poll() is None, log.read_text()
        async with await asyncio.start_server(forward, "127.0.0.1", late_port):
            await until_ready(port, process, log, within_s=30)
            # Stopped while the forwarder still runs (here, on this loop): its shutdown talks to
            # the database through it.
            process.terminate()
            await asyncio.to_thread(process.wait, 30)
    assert "waiting for the database (ConnectionRefusedError) for up to 30 s" in log.read_text()


async def test_production_refuses_an_unmigrated_database(empty_pg_database: str, tmp_path: Path) -> None:
    ran = await asyncio.to_thread(
        ringcard, tmp_path, "serve", "--port", "0", RINGCARD_DATABASE_URL=empty_pg_database, **PRODUCTION
    )
    assert ran.returncode == 1
    assert ran.line == "ringcard: the database is not migrated: run `ringcard migrate`"


async def test_production_on_sqlite_starts_with_one_loud_warning(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ringcard.db'}"
    in_own_thread(upgrade, url)
    port = free_port()
    with serving(tmp_path, port, RINGCARD_DATABASE_URL=url, **PRODUCTION) as (process, log):
        await until_ready(port, process, log, within_s=30)
    warnings = [line for line in log.read_text().splitlines() if " WARNING " in line]
    assert len(warnings) == 1, log.read_text()
    assert "RINGCARD_ENV=production on SQLite" in warnings[0] and "PostgreSQL" in warnings[0]
