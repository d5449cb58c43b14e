"""Engine and session helpers, the declarative Base, and column types that behave the same on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from app.db.faults import ride_out_restarts

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger ids keep PostgreSQL roomy.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


CONNECT_TIMEOUT_S = 5.0


# PostgreSQL settings of the connections a pop's card is looked up through. Their statements are
# prepared once per connection (asyncpg) and, by default, planned anew on every execution: 2.3 ms of
# planning against 0.3 ms of running for the card's three statements at 1M customers (EXPLAIN
# ANALYZE, docs/performance.md). A generic plan is made once per connection and reused; it is the
# same index walk for every caller, since each statement is bounded by its index and a limit
# (tests/calls/test_pop_statements_use_indexes.py checks it). Without parallel workers: a generic
# plan's row estimates are a guess, and a Gather for one phone number costs 7 ms of worker start-up.
# Read without a transaction (create_engine's `autocommit`).
CARD_LOOKUP_SETTINGS: Final = {
    "plan_cache_mode": "force_generic_plan",
    "max_parallel_workers_per_gather": "0",
}


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    server_settings: dict[str, str] | None = None,
    autocommit: bool = False,
) -> AsyncEngine:
    """The engine for `url`. With `autocommit`, for reads only: no BEGIN and ROLLBACK around the
    statements (two round trips), each of which sees the newest committed data, as it does inside
    a READ COMMITTED transaction anyway."""
    kwargs: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # No pre-ping on every checkout: a round trip each, three per call on the pop path. Idle
        # connections are pinged instead, and the call path retries a statement whose connection
        # died (app/db/faults.py); pool_recycle retires connections before servers or proxies
        # time them out. A connection attempt gives up after a few seconds, not asyncpg's 60.
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
        kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT_S}
        if server_settings:
            kwargs["connect_args"]["server_settings"] = server_settings
    # Errors show the SQL but not its parameters: those are customers' names, emails and numbers.
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        ride_out_restarts(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the console read while an import writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """INSERT ... ON CONFLICT for the session's dialect (SQLite and PostgreSQL share the API)."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed for Core insert/update/delete."""
    return cast(Table, model.__table__)
