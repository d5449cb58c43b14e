"""Fixtures: a migrated database per backend (SQLite and PostgreSQL), emptied before each test,
and an app client that runs the real lifespan."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import insert, text

from app.db import Base, create_engine
from app.db.all_models import import_all_models
from app.db.migrate import upgrade
from app.main import create_app
from app.settings import Settings
from app.stores.models import DEFAULT_STORE, Store
from app.stores.records import DEFAULT_NAME
from tests.fixtures.local_model import local_model  # noqa: F401 - a session fixture for every test
from tests.fixtures.services import PG_ADMIN_DSN, require

# The suite runs on the settings its tests give, nothing else: not the developer's shell (any
# RINGCARD_* there is dropped before anything reads it; the suite's own RINGCARD_TEST_* knobs
# stay), and not a `.env` (which `ringcard serve --demo` writes in the checkout): Settings built
# here read none, and the processes tests start inherit this cleaned environment and read no
# `.env` either: they run in a directory of their own, or build Settings(_env_file=None).
# tests/test_readme_commands.py runs part of the suite after a demo, with a shell's RINGCARD_*.
for _name in [n for n in os.environ if n.startswith("RINGCARD_") and not n.startswith("RINGCARD_TEST_")]:
    del os.environ[_name]
# Belt and braces beside `_env_file=None` in every Settings the tests build.
Settings.model_config["env_file"] = None
import_all_models()

# Under CI the property tests run the same examples every time (a failure there is reproducible and
# never depends on the day's seed); locally they keep exploring new inputs. Examples that once
# failed are pinned with @example in the tests themselves.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    hypothesis_settings.load_profile("ci")

SYNC_KEY = "sync-key-for-tests-0123456789"
ADMIN_KEY = "admin-key-for-tests-0123456789"
BACKENDS = ["sqlite", "postgresql"]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def in_own_thread(fn: Any, *args: Any) -> Any:
    """Run blocking code that calls asyncio.run (Alembic's env.py does) in a thread of its own, so
    it never touches the event loop state pytest-asyncio manages in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


class MigratedDatabases:
    """One database per backend for the whole session, built by the Alembic migrations the first
    time a test asks for it."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self._tmp = tmp
        self._urls: dict[str, str] = {}
        self._pg_names: list[str] = []

    def url(self, backend: str) -> str:
        if backend not in self._urls:
            self._urls[backend] = self._create(backend)
        return self._urls[backend]

    def _create(self, backend: str) -> str:
        if backend == "sqlite":
            path: Path = self._tmp.mktemp("sqlite") / "ringcard.db"
            url = f"sqlite+aiosqlite:///{path}"
        else:
            require("PostgreSQL", "127.0.0.1", 5432)
            name = f"ringcard_test_{uuid.uuid4().hex[:10]}"
            in_own_thread(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"'))
            self._pg_names.append(name)
            url = (
                PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
            )
        in_own_thread(upgrade, url)
        return url

    def drop_all(self) -> None:
        for name in self._pg_names:
            in_own_thread(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    databases = MigratedDatabases(tmp_path_factory)
    yield databases
    databases.drop_all()


async def empty_database(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
            if url.startswith("postgresql"):
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    await conn.execute(text(f"DELETE FROM {table}"))
            # As the migrations leave it: the default store every record belongs to by default.
            now = datetime.now(UTC)
            await conn.execute(
                insert(Store).values(id=DEFAULT_STORE, name=DEFAULT_NAME, created_at=now, updated_at=now)
            )
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def migrated_url(request: pytest.FixtureRequest, migrated: MigratedDatabases) -> str:
    # Synchronous on purpose: Alembic's env.py runs its own event loop.
    return migrated.url(request.param)


@pytest.fixture(params=BACKENDS)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of either kind, not migrated: for tests that migrate it step by step."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}"
        return
    require("PostgreSQL", "127.0.0.1", 5432)
    name = f"ringcard_blank_{uuid.uuid4().hex[:10]}"
    in_own_thread(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    finally:
        in_own_thread(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def execute(url: str, sql: str) -> list[tuple[object, ...]]:
    """`sql` in its own transaction on `url`; the rows it returns, if any."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(migrated_url: str) -> str:
    """An empty, migrated database; every test using it runs on SQLite and on PostgreSQL."""
    url = migrated_url
    await empty_database(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "sync_api_key": SYNC_KEY,
        "admin_api_key": ADMIN_KEY,
        "default_region": "PL",
        "base_currency": "PLN",
        "gc_freeze": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


SYNC = {"Authorization": f"Bearer {SYNC_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
