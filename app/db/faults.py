"""Telling a database that is away from a statement that is wrong, and riding out a restart.

After a PostgreSQL restart every pooled connection is dead, and the first statement on each fails.
Two measures keep that from reaching a caller:

- A connection that sat unused in the pool for a while is pinged as it is checked out, and
  replaced when the ping fails. Under traffic connections are reused within milliseconds and
  never pinged, so the pop path pays nothing; a pool that was idle (the quiet minute after a
  restart that once lost a call) is checked before use.
- The call path retries its unit of work once when its connection turns out to be dead
  (`retry_on_disconnect`): SQLAlchemy has then discarded the whole pool's old connections, so the
  retry runs on a fresh one. Background writes keep trying for a while (`keep_trying`).

`is_unavailable` says whether a failure means "the database cannot be reached" (down, restarting,
refusing connections) as opposed to "this statement is wrong": only the first may be waited out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

log = logging.getLogger("ringcard.db")

T = TypeVar("T")

# A connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 2.0

# SQLSTATEs that mean the server is away or going: connection exceptions (class 08), shutdowns
# and "starting up" (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError | TimeoutError):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        name = type(current).__name__
        if name in ("ConnectionDoesNotExistError", "InterfaceError") and (
            "closed" in str(current) or "does not exist" in str(current)
        ):
            return True
        if name == "InternalClientError" and "in progress" in str(current):
            # A connection whose server went away mid-statement can be left "busy" for good: it is
            # as dead as a closed one.
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


async def retry_on_disconnect(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work`; once more when the database could not be reached (a connection found dead
    after a restart: the pool is fresh by then). A database that is really away fails again at
    once (connections are refused), so the retry costs nothing worth measuring."""
    try:
        return await work()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.info("the database connection failed (%s); retrying once", type(exc).__name__)
        return await work()


async def keep_trying(work: Callable[[], Awaitable[T]], *, for_at_most_s: float) -> T:
    """Run `work` until the database takes it, for at most `for_at_most_s` (background writes
    that must not be lost to a restart)."""
    deadline = time.monotonic() + for_at_most_s
    delay = 0.1
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def ride_out_restarts(engine: AsyncEngine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    def returned(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    def checked_out(dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_s:
            return
        try:
            # The asyncpg adapter's ping runs inside SQLAlchemy's greenlet, like any statement.
            dbapi.ping()
        except Exception as exc:
            # The pool then drops this connection and opens a new one (up to three times).
            raise DisconnectionError("an idle pooled connection is closed") from exc

    def failed(context: ExceptionContext) -> None:
        # asyncpg's "connection was closed in the middle of operation" and its kin are not all
        # recognised as disconnects; counted as one, the failure discards every connection the
        # pool opened before it, and the retry gets a fresh connection instead of the next
        # dead one.
        if not context.is_disconnect and is_unavailable(context.original_exception):
            context.is_disconnect = True  # type: ignore[misc]  # documented as settable here

    event.listen(engine.sync_engine, "checkin", returned)
    event.listen(engine.sync_engine, "checkout", checked_out)
    event.listen(engine.sync_engine, "handle_error", failed)
