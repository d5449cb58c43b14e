"""The store sync API (docs/api.md §2): PUT customers/orders/cases, DELETE customer, bulk import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel

from app.db import utcnow
from app.deps import NamedStore, Sessions, SettingsDep, Stores, SyncKey
from app.store.bulk_import.importer import ImportReport, import_ndjson
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.erasures import erase_customer
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, Target, WriteResult
from app.store.write_transactions import run_write

router = APIRouter(prefix="/api/v1", tags=["store sync"])
# Streamed and bound line by line, not by the body limit.
IMPORT_PATH = "/api/v1/import"

ExternalId = Annotated[str, Path(min_length=1, max_length=255)]


class ErasureOut(BaseModel):
    external_id: str
    erased: bool


@router.put("/customers/{external_id}", response_model=WriteResult)
async def put_customer(
    external_id: ExternalId, body: CustomerIn, _: SyncKey, sessions: Sessions, store: NamedStore
) -> WriteResult:
    """A customer of `?store=` (default `default`), their phones read in that store's region."""
    (result,) = await run_write(
        sessions,
        lambda session: apply_customers(
            session, [(external_id, body)], Target(store.id, store.view.region), now=utcnow()
        ),
    )
    return WriteResult(**result._asdict())


@router.put("/orders/{external_id}", response_model=WriteResult)
async def put_order(
    external_id: ExternalId, body: OrderIn, _: SyncKey, sessions: Sessions, store: NamedStore
) -> WriteResult:
    (result,) = await run_write(
        sessions,
        lambda session: apply_orders(
            session, [(external_id, body)], Target(store.id, store.view.region), now=utcnow()
        ),
    )
    return WriteResult(**result._asdict())


@router.put("/cases/{external_id}", response_model=WriteResult)
async def put_case(
    external_id: ExternalId, body: CaseIn, _: SyncKey, sessions: Sessions, store: NamedStore
) -> WriteResult:
    (result,) = await run_write(
        sessions,
        lambda session: apply_cases(session, [(external_id, body)], store=store.id, now=utcnow()),
    )
    return WriteResult(**result._asdict())


@router.delete("/customers/{external_id}", response_model=ErasureOut)
async def delete_customer(
    external_id: ExternalId, _: SyncKey, sessions: Sessions, store: NamedStore
) -> ErasureOut:
    """Erase `?store=`'s customer; the same person in another store stays that store's."""
    erased = await run_write(
        sessions, lambda session: erase_customer(session, store.id, external_id, utcnow())
    )
    return ErasureOut(external_id=external_id, erased=erased)


@router.post(
    "/import",
    response_model=ImportReport,
    responses={503: {"model": ImportReport, "description": "the database failed part-way; see failed"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def bulk_import(
    _: SyncKey, request: Request, sessions: Sessions, settings: SettingsDep, stores: Stores, store: NamedStore
) -> ImportReport | ORJSONResponse:
    """NDJSON, one `{"type": "customer"|"order"|"case", "external_id": ..., ...}` a line. Read as a
    stream and committed batch by batch, so a backfill of millions of rows never sits in memory.
    When the database fails part-way the answer is 503 with the same report, saying through which
    line everything is stored (`committed_through_line`), so the client can resume after it.
    The records are `?store=`'s, or the store a line names in its own `store` field."""
    await stores.load()  # a store made on another instance a moment ago is named by its lines
    report = await import_ndjson(
        request.stream(),
        sessions,
        store=store.id,
        regions=stores.region_of,
        batch_size=settings.import_batch_size,
    )
    if report.failed is not None:
        return ORJSONResponse(status_code=503, content=report.model_dump())
    return report
