"""Bulk backfill from an NDJSON stream.

Two ways to write a batch, one report. On PostgreSQL lines become plain tuples that are copied into
staging tables and applied set-based (app/store/bulk_import/pg_import.py); elsewhere, or when asked, lines
become the sync API's models and go through the same writers as single PUTs. Both produce the
same rows and the same report (tests/store/test_import_paths.py compares them)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.db.storable import json_nul_path
from app.store.bulk_import.pg_import import BatchCounts, PgBatch, PgWriter, PhoneCache
from app.store.bulk_import.records import (
    CaseLine,
    CustomerLine,
    ExternalId,
    OrderLine,
    line_models,
    validate_line,
)
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, Outcome
from app.store.write_transactions import run_write

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

# What a database that fails under an import raises: the driver's errors through SQLAlchemy or
# directly (the set-based path talks to asyncpg), and a connection that breaks.
DATABASE_FAILURES: tuple[type[BaseException], ...] = (
    DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


class _DatabaseFailed(Exception):
    """A batch's write failed in the database (not in the client's stream)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


MAX_LINE_BYTES = 1 << 20
MAX_REPORTED_ERRORS = 1000
# Lines parsed between two looks at the event loop while a batch is being written: the writer
# needs the loop for every round trip to the database, and parsing a whole network chunk (hundreds
# of lines) in one go would keep the database waiting for that long at each one.
_PARSE_SLICE = 32


class LineError(BaseModel):
    line: int
    error: str


class ImportReport(BaseModel):
    lines: int = 0
    applied: int = 0
    stale: int = 0
    # Records an erasure kept from bringing a person back: orders stored without personal data,
    # customers and cases not applied.
    erased: int = 0
    rejected: int = 0
    errors: list[LineError] = Field(default_factory=list)
    errors_truncated: bool = False
    # Set when the database failed part-way: everything up to `committed_through_line` is stored
    # (and counted above); send the stream again from the line after it.
    failed: str | None = None
    committed_through_line: int | None = None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        field = ".".join(str(p) for p in err["loc"]) or "line"
        parts.append(f"{field}: {err['msg']}")
    return "; ".join(parts)


@dataclass(slots=True)
class _Tally:
    """Counted per line, so a plain object: a pydantic model's validated setattr costs more than
    the rest of a line's bookkeeping."""

    lines: int = 0
    applied: int = 0
    stale: int = 0
    erased: int = 0
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)
    errors_truncated: bool = False
    committed_through_line: int = 0

    def report(self) -> ImportReport:
        return ImportReport(
            lines=self.lines,
            applied=self.applied,
            stale=self.stale,
            erased=self.erased,
            rejected=self.rejected,
            errors=self.errors,
            errors_truncated=self.errors_truncated,
        )


class _ModelBatch:
    """A batch for the Python writers: validated models per kind, in line order."""

    def __init__(self) -> None:
        self.customers: list[tuple[str, CustomerIn]] = []
        self.orders: list[tuple[str, OrderIn]] = []
        self.cases: list[tuple[str, CaseIn]] = []

    def __len__(self) -> int:
        return len(self.customers) + len(self.orders) + len(self.cases)

    def add(self, raw: bytes) -> None:
        record = line_models.validate_json(raw)
        if isinstance(record, CustomerLine):
            self.customers.append((record.external_id, record))
        elif isinstance(record, OrderLine):
            self.orders.append((record.external_id, record))
        else:
            self.cases.append((record.external_id, record))


def _dialect(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    bind: Any = sessionmaker.kw.get("bind")
    return str(bind.dialect.name) if bind is not None else ""


async def import_ndjson(
    chunks: AsyncIterator[bytes],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    region: str,
    batch_size: int,
    set_based: bool | None = None,
) -> ImportReport:
    """Import the stream batch by batch, one transaction per batch. `set_based` picks the writer
    (default: the set-based one on PostgreSQL, the Python writers elsewhere)."""
    if set_based is None:
        set_based = _dialect(sessionmaker) == "postgresql"
    if not set_based:
        return await _import(chunks, batch_size, _ModelWriter(sessionmaker, region))
    async with PgWriter(sessionmaker) as writer:
        return await _import(chunks, batch_size, _SetWriter(writer, region))


_B = TypeVar("_B", "_ModelBatch", PgBatch)


class _Writer(Protocol[_B]):
    """How _import fills and hands over batches, whichever way they are written."""

    # How many batches may be unfinished at once (being written, or waiting to be).
    depth: int

    def new_batch(self) -> _B: ...

    def take(self, batch: _B, line_no: int, raw: bytes) -> None:
        """Validate one line into the batch; raises ValidationError for a rejected line."""
        ...

    def write(self, batch: _B, after: asyncio.Future[Any] | None) -> Awaitable[BatchCounts]:
        """Write the batch once `after` (the previous batch's write, if any) is done; return how
        many of its records were applied and how many an erasure held back."""
        ...


class _ModelWriter:
    """Batches of models for the Python writers, one written at a time (so `after` is always
    done already)."""

    depth = 1

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], region: str) -> None:
        self._sessionmaker = sessionmaker
        self._region = region

    def new_batch(self) -> _ModelBatch:
        return _ModelBatch()

    def take(self, batch: _ModelBatch, line_no: int, raw: bytes) -> None:
        batch.add(raw)

    async def write(self, batch: _ModelBatch, after: asyncio.Future[Any] | None) -> BatchCounts:
        now = utcnow()

        # Customers first so that their orders and cases in the same batch link at once; one
        # transaction per batch, so a failure never leaves a record half-written.
        async def apply(session: AsyncSession) -> list[Outcome]:
            results = await apply_customers(session, batch.customers, region=self._region, now=now)
            results += await apply_orders(session, batch.orders, region=self._region, now=now)
            results += await apply_cases(session, batch.cases, now=now)
            return results

        results = await run_write(self._sessionmaker, apply)
        erased = sum(1 for result in results if result.reason == "erased")
        applied = sum(1 for result in results if result.applied and result.reason != "erased")
        return BatchCounts(applied=applied, erased=erased)


class _SetWriter:
    """Batches of staging rows for PgWriter; one batch is applied while the next is copied."""

    depth = 2

    def __init__(self, writer: PgWriter, region: str) -> None:
        self._writer = writer
        self._phones = PhoneCache(region)

    def new_batch(self) -> PgBatch:
        return PgBatch(self._phones)

    def take(self, batch: PgBatch, line_no: int, raw: bytes) -> None:
        batch.add(line_no, validate_line(raw))

    def write(self, batch: PgBatch, after: asyncio.Future[Any] | None) -> Coroutine[Any, Any, BatchCounts]:
        return self._writer.write(batch, after)


async def _import(chunks: AsyncIterator[bytes], batch_size: int, writer: _Writer[_B]) -> ImportReport:
    report: _Tally = _Tally()
    batch: _B = writer.new_batch()

    def reject(line_no: int, message: str) -> None:
        report.rejected += 1
        if len(report.errors) < MAX_REPORTED_ERRORS:
            report.errors.append(LineError(line=line_no, error=message))
        else:
            report.errors_truncated = True

    def take(line_no: int, raw: bytes) -> None:
        if not raw or raw.isspace():
            return
        report.lines += 1
        if len(raw) > MAX_LINE_BYTES:
            reject(line_no, f"line longer than {MAX_LINE_BYTES} bytes")
            return
        if (where := json_nul_path(raw)) is not None:
            reject(line_no, f"{where}: contains a NUL character, which cannot be stored")
            return
        try:
            writer.take(batch, line_no, raw)
        except ValidationError as exc:
            reject(line_no, describe(exc))

    async def written(full: _B, after: asyncio.Future[Any] | None, last_line: int) -> None:
        try:
            counts = await writer.write(full, after)
        except DATABASE_FAILURES as exc:
            raise _DatabaseFailed(exc) from exc
        report.applied += counts.applied
        report.erased += counts.erased
        report.stale += len(full) - counts.applied - counts.erased
        report.committed_through_line = last_line

    pending = b""
    line_no = 0
    # Batches are written while the next ones are parsed: parsing is CPU in this process, writing
    # is mostly the database's time, and overlapping them is the cheapest throughput there is.
    # Batches still commit strictly one after another, so later lines see earlier ones.
    in_flight: collections.deque[asyncio.Task[None]] = collections.deque()

    async def hand_over() -> None:
        nonlocal batch
        if len(in_flight) == writer.depth:
            await in_flight.popleft()
        full, batch = batch, writer.new_batch()
        if len(full):
            in_flight.append(
                asyncio.create_task(written(full, in_flight[-1] if in_flight else None, line_no))
            )

    try:
        async for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for start in range(0, len(lines), _PARSE_SLICE):
                for raw in lines[start : start + _PARSE_SLICE]:
                    line_no += 1
                    take(line_no, raw)
                if in_flight and not in_flight[-1].done():
                    await asyncio.sleep(0)
            if len(pending) > MAX_LINE_BYTES:
                line_no += 1
                report.lines += 1
                reject(line_no, f"line longer than {MAX_LINE_BYTES} bytes")
                pending = b""
                # Skip the rest of the overlong line: everything up to the next newline.
                async for rest in chunks:
                    if b"\n" in rest:
                        pending = rest.split(b"\n", 1)[1]
                        break
            if len(batch) >= batch_size:
                await hand_over()
        if pending:
            line_no += 1
            take(line_no, pending)
        await hand_over()
        while in_flight:
            await in_flight.popleft()
    except _DatabaseFailed as failure:
        exc = failure.cause
        # Batches commit in order, so everything through the last committed batch's last line is
        # stored and nothing after it: the client resumes from the line after that.
        failed = report.report()
        failed.failed = (
            f"the database failed during the import ({type(exc).__name__}); "
            f"nothing after line {report.committed_through_line} was stored"
        )
        failed.committed_through_line = report.committed_through_line
        log.warning("import stopped by a database failure after line %d", report.committed_through_line)
        return failed
    finally:
        # On failure, let the writes still running roll back before their connections go.
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
    return report.report()
