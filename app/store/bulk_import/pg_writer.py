"""The bulk import on PostgreSQL: each batch is copied into session-local staging tables and applied
by a few set-based statements, instead of the per-record Python writers.

Why: the writers (customer_writes, order_writes, case_writes) spend most of a bulk import's time in
Python, building dicts, compiling statements with thousand-element IN lists and keeping aggregate
deltas per record. Here Python only validates a line and turns it into one plain tuple (phones
normalised on the way, cached per distinct number); COPY moves the tuples, and the database does
the stale checks, the upserts, the phone index, the linking of early arrivals and the aggregates.

The pieces: pg_batch.py turns lines into staging rows (phone_cache.py normalises the numbers),
staging.py holds the tables they are copied into, statements.py applies them as the writers would
(its docstring says how exactly), and this module moves each batch through them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.store.bulk_import.pg_batch import (
    CASE_COLUMNS,
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    PHONE_COLUMNS,
    PgBatch,
)
from app.store.bulk_import.phone_cache import PhoneCache
from app.store.bulk_import.pipeline import BatchCounts
from app.store.bulk_import.records import StoreRegions, region_of_line, validate_line
from app.store.bulk_import.staging import ensure_staging_tables
from app.store.bulk_import.statements import APPLIED_COUNT, batch_script


class PgWriter:
    """Writes staged batches strictly in order, over two connections taking turns.

    A batch's COPY into its connection's staging tables depends on nothing before it, so it runs
    while the previous batch is still being applied on the other connection; only applying waits
    for the previous batch's commit (its statements must see that batch's rows). The database thus
    never idles while a batch is encoded and copied, and one transaction per batch still holds.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._stack = contextlib.AsyncExitStack()
        self._drivers: list[Any] = []
        self._turn = 0

    async def __aenter__(self) -> PgWriter:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(2):
                session = await stack.enter_async_context(self._sessionmaker())
                pooled = await (await session.connection()).get_raw_connection()
                driver = pooled.driver_connection
                assert driver is not None
                await ensure_staging_tables(pooled, driver)
                self._drivers.append(driver)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for driver in self._drivers:
                if not driver.is_closed() and driver.is_in_transaction():
                    # A write stopped between its statements (cancelled): never hand the pool a
                    # connection inside a transaction.
                    await driver.execute("ROLLBACK")
        finally:
            await self._stack.aclose()

    def write(self, batch: PgBatch, after: asyncio.Future[Any] | None) -> Coroutine[Any, Any, BatchCounts]:
        """The coroutine that writes `batch` once `after` (the previous batch's write) is done;
        it returns how many records were applied (the others were stale or refused by an erasure).
        Call in batch order, with at most two writes unfinished."""
        driver = self._drivers[self._turn]
        self._turn ^= 1
        return self._write(driver, batch, after)

    async def _write(self, driver: Any, batch: PgBatch, after: asyncio.Future[Any] | None) -> BatchCounts:
        # The sessions never issue a statement, so SQLAlchemy never begins a transaction on
        # these connections; asyncpg's own transaction is the batch's one.
        async with driver.transaction():
            if batch.customers:
                await driver.copy_records_to_table(
                    "import_customers", records=batch.customers, columns=CUSTOMER_COLUMNS
                )
            if batch.orders:
                await driver.copy_records_to_table(
                    "import_orders", records=batch.orders, columns=ORDER_COLUMNS
                )
            if batch.cases:
                await driver.copy_records_to_table("import_cases", records=batch.cases, columns=CASE_COLUMNS)
            if batch.phones:
                await driver.copy_records_to_table(
                    "import_phones", records=batch.phones, columns=PHONE_COLUMNS
                )
            if after is not None:
                # Raises if the previous batch failed: this one then rolls back too.
                await after
            await driver.execute(batch_script(batch.runs, utcnow()))
            applied, erased = await driver.fetchrow(APPLIED_COUNT)
        return BatchCounts(applied=applied, erased=erased)


class SetBasedWriter:
    """The import's side of PgWriter: lines become staging rows, one batch is applied while the
    next is copied."""

    # Two batches unfinished at once, one per connection of PgWriter.
    depth = 2

    def __init__(self, writer: PgWriter, store: str, regions: StoreRegions) -> None:
        self._writer = writer
        self._store = store
        self._regions = regions
        # One cache per store for the whole import: numbers repeat across batches too (and a
        # store reads national numbers in its own region).
        self._phones: dict[str, PhoneCache] = {}

    def new_batch(self) -> PgBatch:
        return PgBatch()

    def _phones_of(self, store: str) -> PhoneCache:
        cache = self._phones.get(store)
        if cache is None:
            cache = self._phones[store] = PhoneCache(region_of_line(store, self._regions))
        return cache

    def take(self, batch: PgBatch, line_no: int, raw: bytes) -> None:
        record = validate_line(raw)
        store = record.get("store") or self._store
        batch.add(line_no, record, store, self._phones_of(store))

    def write(self, batch: PgBatch, after: asyncio.Future[Any] | None) -> Coroutine[Any, Any, BatchCounts]:
        return self._writer.write(batch, after)
