"""Run Alembic migrations from code (the CLI, the start command, tests), and tell whether a
database is at the migrations' head (`/readyz`, `ringcard serve`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

ROOT = Path(__file__).resolve().parents[2]
VERSION_TABLE = "alembic_version"
MIGRATE_HINT = "run `ringcard migrate`"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking; call it outside a running event loop (env.py runs its own)."""
    command.upgrade(alembic_config(database_url), revision)


@lru_cache(maxsize=1)
def _scripts() -> tuple[frozenset[str], frozenset[str]]:
    # The migration scripts do not change while the process runs: read the directory once (every
    # readiness probe asks).
    scripts = ScriptDirectory.from_config(alembic_config(""))
    return frozenset(scripts.get_heads()), frozenset(rev.revision for rev in scripts.walk_revisions())


def head_revisions() -> frozenset[str]:
    """The revisions the migrations end at (one, unless the history has branches)."""
    return _scripts()[0]


async def database_revisions(conn: AsyncConnection) -> frozenset[str] | None:
    """The revisions the database's version table holds; None when it has none (never migrated)."""
    has_table = await conn.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE))
    if not has_table:
        return None
    rows = await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(str(row[0]) for row in rows)


def schema_problem(current: frozenset[str] | None) -> str | None:
    """None when the schema is at the head; otherwise what is wrong, in a few words."""
    heads, known = _scripts()
    if current == heads:
        return None
    if not current:
        return f"not migrated: {MIGRATE_HINT}"
    if current <= known:
        return f"behind (at {', '.join(sorted(current))}, head is {', '.join(sorted(heads))}): {MIGRATE_HINT}"
    return (
        f"at {', '.join(sorted(current - known))}, a revision this version does not know "
        "(migrated by a newer Ringcard?)"
    )


async def schema_problem_of(conn: AsyncConnection) -> str | None:
    return schema_problem(await database_revisions(conn))
