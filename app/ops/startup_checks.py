"""What `ringcard serve` (and `migrate`) check before they start: the database answers (waiting
for it up to RINGCARD_DB_WAIT_S, so a container may start before its database), and for `serve`
that its schema is at the migrations' head.

A database that is away (refused, unresolvable, starting up, too many connections) is waited for;
one that answers with a refusal that will not change by itself (no such database or role, a wrong
password) stops the command at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text

from app.db import create_engine
from app.db.faults import is_unavailable
from app.db.migrate import schema_problem_of
from app.ops.operator_errors import OperatorError, database_problem, safe_url
from app.settings import Environment, Settings

log = logging.getLogger("ringcard.startup")

# Each attempt waits at most this long for an answer; then the next one after a pause that grows
# to RETRY_MAX_S.
ATTEMPT_TIMEOUT_S = 5.0
RETRY_MAX_S = 2.0


async def wait_for_database(settings: Settings) -> None:
    """Return once the database answers; raise OperatorError (one line) when it still does not
    after `settings.db_wait_s`, or at once when it refuses for good."""
    deadline = time.monotonic() + settings.db_wait_s
    delay = 0.2
    told = False
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        while True:
            try:
                remaining = max(deadline - time.monotonic(), 0.1)
                async with asyncio.timeout(min(ATTEMPT_TIMEOUT_S, remaining)):
                    async with engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                return
            except Exception as exc:
                if not is_unavailable(exc) or time.monotonic() + delay > deadline:
                    waited = f" (waited {settings.db_wait_s:g} s: RINGCARD_DB_WAIT_S)" if told else ""
                    raise OperatorError(database_problem(exc, settings.database_url) + waited) from exc
                if not told:
                    told = True
                    # Not the URL: log lines mask what looks like an email (user@host).
                    log.warning(
                        "waiting for the database (%s) for up to %g s (RINGCARD_DB_WAIT_S)",
                        type(exc).__name__,
                        settings.db_wait_s,
                    )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
    finally:
        await engine.dispose()


async def check_schema(settings: Settings) -> None:
    """Raise OperatorError unless the schema is at the migrations' head: nothing works on an older
    one (every request would answer 500), so no environment serves on it."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            problem = await schema_problem_of(conn)
    finally:
        await engine.dispose()
    if problem is not None and problem.startswith("not migrated"):
        raise OperatorError("the database is not migrated: run `ringcard migrate`")
    if problem is not None:
        raise OperatorError(f"the database schema is {problem}")


def warn_about_production_sqlite(settings: Settings) -> None:
    if settings.env is Environment.PRODUCTION and settings.is_sqlite:
        log.warning(
            "RINGCARD_ENV=production on SQLite (%s): one process only, no second instance, "
            "backups by copying the file while stopped; set RINGCARD_DATABASE_URL to PostgreSQL "
            "(postgresql+asyncpg://USER@HOST/DATABASE)",
            safe_url(settings.database_url),
        )
