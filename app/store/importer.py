"""Bulk backfill from an NDJSON stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
    report = ImportReport()
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
            await _flush(batch, sessionmaker, region, report)
    if pending:
        line_no += 1
        take(line_no, pending)
    await _flush(batch, sessionmaker, region, report)
    return report


async def _flush(
    batch: _Batch, sessionmaker: async_sessionmaker[AsyncSession], region: str, report: ImportReport
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
    batch.customers.clear()
    batch.orders.clear()
    batch.cases.clear()
