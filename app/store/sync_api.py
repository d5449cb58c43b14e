"""The store sync API (API.md §2): PUT customers/orders/cases, DELETE customer, bulk import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from app.auth import SettingsDep, SyncKey
from app.db import SessionDep, utcnow
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.erasures import erase_customer
from app.store.importer import ImportReport, import_ndjson
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CustomerIn, OrderIn, WriteResult

router = APIRouter(prefix="/api/v1", tags=["store sync"])

ExternalId = Annotated[str, Path(min_length=1, max_length=255)]


class ErasureOut(BaseModel):
    external_id: str
    erased: bool


@router.put("/customers/{external_id}", response_model=WriteResult)
async def put_customer(
    external_id: ExternalId, body: CustomerIn, session: SessionDep, settings: SettingsDep, _: SyncKey
) -> WriteResult:
    (result,) = await apply_customers(
        session, [(external_id, body)], region=settings.default_region, now=utcnow()
    )
    return WriteResult(**result._asdict())


@router.put("/orders/{external_id}", response_model=WriteResult)
async def put_order(
    external_id: ExternalId, body: OrderIn, session: SessionDep, settings: SettingsDep, _: SyncKey
) -> WriteResult:
    (result,) = await apply_orders(
        session, [(external_id, body)], region=settings.default_region, now=utcnow()
    )
    return WriteResult(**result._asdict())


@router.put("/cases/{external_id}", response_model=WriteResult)
async def put_case(external_id: ExternalId, body: CaseIn, session: SessionDep, _: SyncKey) -> WriteResult:
    (result,) = await apply_cases(session, [(external_id, body)], now=utcnow())
    return WriteResult(**result._asdict())


@router.delete("/customers/{external_id}", response_model=ErasureOut)
async def delete_customer(external_id: ExternalId, session: SessionDep, _: SyncKey) -> ErasureOut:
    erased = await erase_customer(session, external_id, utcnow())
    return ErasureOut(external_id=external_id, erased=erased)


@router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def bulk_import(request: Request, settings: SettingsDep, _: SyncKey) -> ImportReport:
    """NDJSON, one `{"type": "customer"|"order"|"case", "external_id": ..., ...}` a line. Read as a
    stream and committed batch by batch, so a backfill of millions of rows never sits in memory."""
    return await import_ndjson(
        request.stream(),
        request.app.state.sessionmaker,
        region=settings.default_region,
        batch_size=settings.import_batch_size,
    )
