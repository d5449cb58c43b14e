"""Builders for sync API payloads and read-backs of what the store holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.db import create_engine, make_sessionmaker
from app.store.currencies import format_amount
from app.store.models import Customer, CustomerLifetimeValue

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat()


def customer(updated: datetime = T0, **over: Any) -> dict[str, Any]:
    body = {
        "first_name": "Anna",
        "last_name": "Nowak",
        "email": "anna@example.pl",
        "phones": [{"number": "601 234 567", "kind": "mobile"}],
        "tags": ["vip"],
        "note": "calls after 5pm",
        "created_at": iso(T0 - timedelta(days=300)),
        "updated_at": iso(updated),
    }
    body.update(over)
    return body


def order(
    number: str,
    total: str,
    currency: str = "PLN",
    status: str = "delivered",
    customer_external_id: str | None = "c-1",
    placed: datetime = T0 - timedelta(days=10),
    updated: datetime = T0,
    **over: Any,
) -> dict[str, Any]:
    body = {
        "customer_external_id": customer_external_id,
        "name": "Anna Nowak",
        "email": "anna@example.pl",
        "city": "Kraków",
        "number": number,
        "status": status,
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
        "total": total,
        "currency": currency,
        "placed_at": iso(placed),
        "updated_at": iso(updated),
        "phones": [{"number": "+48 601-234-567", "kind": "billing"}],
        "tracking_url": None,
        "items": [{"title": "Mug", "quantity": 2}],
    }
    body.update(over)
    return body


def case(
    kind: str = "complaint", status: str = "open", updated: datetime = T0, **over: Any
) -> dict[str, Any]:
    body = {
        "customer_external_id": "c-1",
        "order_external_id": None,
        "kind": kind,
        "status": status,
        "subject": "Parcel damaged",
        "opened_at": iso(T0 - timedelta(days=1)),
        "updated_at": iso(updated),
    }
    body.update(over)
    return body


async def summary(database_url: str, external_id: str) -> dict[str, Any] | None:
    """The customer's stored aggregates, as the card will read them."""
    engine = create_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            row = await session.scalar(select(Customer).where(Customer.external_id == external_id))
            if row is None:
                return None
            ltv = (
                await session.execute(
                    select(CustomerLifetimeValue.currency, CustomerLifetimeValue.amount_units).where(
                        CustomerLifetimeValue.customer_id == row.id
                    )
                )
            ).all()
            return {
                "orders_count": row.orders_count,
                "returns_count": row.returns_count,
                "first_order_at": row.first_order_at,
                "last_order_at": row.last_order_at,
                "ltv": {cur: format_amount(units, cur) for cur, units in ltv if units},
                "first_name": row.first_name,
            }
    finally:
        await engine.dispose()
