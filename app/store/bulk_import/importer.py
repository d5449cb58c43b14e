"""Bulk backfill from an NDJSON stream.

Two ways to write a batch, one report. On PostgreSQL lines become plain tuples that are copied into
staging tables and applied set-based (app/store/bulk_import/pg_writer.py); elsewhere, or when asked,
lines become the sync API's models and go through the same writers as single PUTs
(model_writer.py). Both produce the same rows and the same report (tests/store/test_import_paths.py
compares them).

The steps, each in its own module: lines.py reads and validates the lines into a batch,
pipeline.py writes full batches in order while the next ones are read, report.py keeps the counts
and builds the answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sized
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.bulk_import.lines import BatchFiller, LineStream
from app.store.bulk_import.model_writer import ModelWriter
from app.store.bulk_import.pg_writer import PgWriter, SetBasedWriter
from app.store.bulk_import.pipeline import BatchPipeline, BatchWriter, DatabaseFailed
from app.store.bulk_import.records import CaseLine, CustomerLine, ExternalId, OrderLine, StoreRegions
from app.store.bulk_import.report import ImportReport, LineError, Tally

__all__ = [
    "CaseLine",
    "CustomerLine",
    "ExternalId",
    "ImportReport",
    "LineError",
    "OrderLine",
    "import_ndjson",
]

log = logging.getLogger("ringcard.store.import")

_B = TypeVar("_B", bound=Sized)


def _dialect(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    bind: Any = sessionmaker.kw.get("bind")
    return str(bind.dialect.name) if bind is not None else ""


async def import_ndjson(
    chunks: AsyncIterator[bytes],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    store: str,
    regions: StoreRegions,
    batch_size: int,
    set_based: bool | None = None,
) -> ImportReport:
    """Import the stream batch by batch, one transaction per batch, into `store` (a line may
    name another in its `store` field; `regions` gives each store's region, None for a store
    that does not exist). `set_based` picks the writer (default: the set-based one on
    PostgreSQL, the Python writers elsewhere)."""
    if set_based is None:
        set_based = _dialect(sessionmaker) == "postgresql"
    if not set_based:
        return await _import(chunks, batch_size, ModelWriter(sessionmaker, store, regions))
    async with PgWriter(sessionmaker) as writer:
        return await _import(chunks, batch_size, SetBasedWriter(writer, store, regions))


async def _import(chunks: AsyncIterator[bytes], batch_size: int, writer: BatchWriter[_B]) -> ImportReport:
    tally = Tally()
    stream = LineStream(chunks)
    filler = BatchFiller(writer, tally)
    pipeline = BatchPipeline(writer, tally)
    try:
        async for lines in stream:
            await filler.take_lines(lines, pipeline)
            if stream.overlong:
                filler.reject_overlong()
                await stream.skip_line()
            # A batch is handed over between chunks, so it may run past batch_size by a chunk.
            if len(filler.batch) >= batch_size:
                await pipeline.hand_over(filler.swap(), filler.line_no)
        if stream.rest:
            filler.take_last(stream.rest)
        await pipeline.hand_over(filler.swap(), filler.line_no)
        await pipeline.drain()
    except DatabaseFailed as failure:
        log.warning("import stopped by a database failure after line %d", tally.committed_through_line)
        return tally.failure_report(failure.cause)
    finally:
        # On failure, let the writes still running roll back before their connections go.
        await pipeline.cancel()
    return tally.report()
