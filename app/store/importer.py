"""Bulk backfill from an NDJSON stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn

MAX_LINE_BYTES = 1 << 20
MAX_REPORTED_ERRORS = 1000

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CustomerLine(CustomerIn):
    type: Literal["customer"]
    external_id: ExternalId


class OrderLine(OrderIn):
    type: Literal["order"]
    external_id: ExternalId


class CaseLine(CaseIn):
    type: Literal["case"]
    external_id: ExternalId


_line: TypeAdapter[CustomerLine | OrderLine | CaseLine] = TypeAdapter(
    Annotated[CustomerLine | OrderLine | CaseLine, Field(discriminator="type")]
)


class LineError(BaseModel):
    line: int
    error: str


class ImportReport(BaseModel):
    lines: int = 0
    applied: int = 0
    stale: int = 0
    rejected: int = 0
    errors: list[LineError] = Field(default_factory=list)
    errors_truncated: bool = False


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
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)
    errors_truncated: bool = False

    def report(self) -> ImportReport:
        return ImportReport(
            lines=self.lines,
            applied=self.applied,
            stale=self.stale,
            rejected=self.rejected,
            errors=self.errors,
            errors_truncated=self.errors_truncated,
        )


class _Batch:
    def __init__(self) -> None:
        self.customers: list[tuple[str, CustomerIn]] = []
        self.orders: list[tuple[str, OrderIn]] = []
        self.cases: list[tuple[str, CaseIn]] = []

    def __len__(self) -> int:
        return len(self.customers) + len(self.orders) + len(self.cases)


async def import_ndjson(
    chunks: AsyncIterator[bytes],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    region: str,
    batch_size: int,
) -> ImportReport:
    report = _Tally()
    batch = _Batch()

    def reject(line_no: int, message: str) -> None:
        report.rejected += 1
        if len(report.errors) < MAX_REPORTED_ERRORS:
            report.errors.append(LineError(line=line_no, error=message))
        else:
            report.errors_truncated = True

    def take(line_no: int, raw: bytes) -> None:
        if not raw.strip():
            return
        report.lines += 1
        if len(raw) > MAX_LINE_BYTES:
            reject(line_no, f"line longer than {MAX_LINE_BYTES} bytes")
            return
        try:
            record = _line.validate_json(raw)
        except ValidationError as exc:
            reject(line_no, describe(exc))
            return
        if isinstance(record, CustomerLine):
            batch.customers.append((record.external_id, record))
        elif isinstance(record, OrderLine):
            batch.orders.append((record.external_id, record))
        else:
            batch.cases.append((record.external_id, record))

    pending = b""
    line_no = 0
    # One batch is written while the next is parsed: parsing is CPU in this process, writing is
    # mostly the database's time, and overlapping them is the cheapest throughput there is.
    # Batches still commit strictly one after another, so later lines see earlier ones.
    in_flight: asyncio.Task[None] | None = None

    async def hand_over() -> None:
        nonlocal batch, in_flight
        if in_flight is not None:
            await in_flight
        full, batch = batch, _Batch()
        in_flight = asyncio.create_task(_flush(full, sessionmaker, region, report))

    try:
        async for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line_no += 1
                take(line_no, raw)
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
        assert in_flight is not None
        await in_flight
    finally:
        if in_flight is not None and not in_flight.done():
            in_flight.cancel()
    return report.report()


async def _flush(
    batch: _Batch, sessionmaker: async_sessionmaker[AsyncSession], region: str, report: _Tally
) -> None:
    if not len(batch):
        return
    now = utcnow()
    # Customers first so that their orders and cases in the same batch link at once; one
    # transaction per batch, so a failure never leaves a record half-written.
    async with sessionmaker() as session, session.begin():
        results = await apply_customers(session, batch.customers, region=region, now=now)
        results += await apply_orders(session, batch.orders, region=region, now=now)
        results += await apply_cases(session, batch.cases, now=now)
    for result in results:
        if result.applied:
            report.applied += 1
        else:
            report.stale += 1
