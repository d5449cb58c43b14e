"""The import through the sync API's models and writers: what SQLite uses, and PostgreSQL when the
set-based path is not asked for. The writers are the reference the set-based path is held to."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.store.bulk_import.pipeline import BatchCounts
from app.store.bulk_import.records import CustomerLine, OrderLine, line_models
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, Outcome
from app.store.write_transactions import run_write


class ModelBatch:
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


class ModelWriter:
    """Batches of models for the Python writers, one written at a time (so `after` is always
    done already)."""

    depth = 1

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], region: str) -> None:
        self._sessionmaker = sessionmaker
        self._region = region

    def new_batch(self) -> ModelBatch:
        return ModelBatch()

    def take(self, batch: ModelBatch, line_no: int, raw: bytes) -> None:
        batch.add(raw)

    async def write(self, batch: ModelBatch, after: asyncio.Future[Any] | None) -> BatchCounts:
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
