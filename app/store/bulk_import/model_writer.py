"""The import through the sync API's models and writers: what SQLite uses, and PostgreSQL when the
set-based path is not asked for. The writers are the reference the set-based path is held to."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.store.bulk_import.pipeline import BatchCounts
from app.store.bulk_import.records import (
    CustomerLine,
    OrderLine,
    StoreRegions,
    line_models,
    region_of_line,
)
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, Outcome, Target
from app.store.write_transactions import run_write


class StoreRecords:
    """One store's validated models per kind, in line order."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.customers: list[tuple[str, CustomerIn]] = []
        self.orders: list[tuple[str, OrderIn]] = []
        self.cases: list[tuple[str, CaseIn]] = []


class ModelBatch:
    """A batch for the Python writers: each store's records (stores do not share records, so
    each store's are applied as a batch of their own)."""

    def __init__(self) -> None:
        self.stores: dict[str, StoreRecords] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, raw: bytes, store: str, regions: StoreRegions) -> None:
        record = line_models.validate_json(raw)
        store = record.store or store
        records = self.stores.get(store)
        if records is None:
            records = self.stores[store] = StoreRecords(region_of_line(store, regions))
        if isinstance(record, CustomerLine):
            records.customers.append((record.external_id, record))
        elif isinstance(record, OrderLine):
            records.orders.append((record.external_id, record))
        else:
            records.cases.append((record.external_id, record))
        self._size += 1


class ModelWriter:
    """Batches of models for the Python writers, one written at a time (so `after` is always
    done already)."""

    depth = 1

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], store: str, regions: StoreRegions
    ) -> None:
        self._sessionmaker = sessionmaker
        self._store = store
        self._regions = regions

    def new_batch(self) -> ModelBatch:
        return ModelBatch()

    def take(self, batch: ModelBatch, line_no: int, raw: bytes) -> None:
        batch.add(raw, self._store, self._regions)

    async def write(self, batch: ModelBatch, after: asyncio.Future[Any] | None) -> BatchCounts:
        now = utcnow()

        # Customers first so that their orders and cases in the same batch link at once; one
        # transaction per batch, so a failure never leaves a record half-written.
        async def apply(session: AsyncSession) -> list[Outcome]:
            results: list[Outcome] = []
            for store, records in batch.stores.items():
                region = records.region
                into = Target(store, region)
                results += await apply_customers(session, records.customers, into, now=now)
                results += await apply_orders(session, records.orders, into, now=now)
                results += await apply_cases(session, records.cases, store=store, now=now)
            return results

        results = await run_write(self._sessionmaker, apply)
        erased = sum(1 for result in results if result.reason == "erased")
        applied = sum(1 for result in results if result.applied and result.reason != "erased")
        return BatchCounts(applied=applied, erased=erased)
