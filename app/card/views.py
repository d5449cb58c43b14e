"""What the card shows of orders and cases, read once from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.card.contracts import CardCase, CardOrder
from app.card.links import Links
from app.kit.money import format_amount


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    external_id: str
    number: str
    status: str
    financial_status: str | None
    fulfillment_status: str | None
    total_units: int
    refunded_units: int
    currency: str
    placed_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    expected_delivery_at: datetime | None
    tracking_url: str | None
    items: list[dict[str, Any]]
    origin: str | None

    def to_json(self, links: Links) -> CardOrder:
        return {
            "external_id": self.external_id,
            "number": self.number,
            "status": self.status,
            "financial_status": self.financial_status,
            "fulfillment_status": self.fulfillment_status,
            "total": format_amount(self.total_units, self.currency),
            "refunded": format_amount(self.refunded_units, self.currency) if self.refunded_units else None,
            "currency": self.currency,
            "placed_at": iso(self.placed_at),
            "shipped_at": iso(self.shipped_at),
            "delivered_at": iso(self.delivered_at),
            "tracking_url": self.tracking_url,
            "items": self.items,
            "admin_url": links.order(self.origin, self.external_id, self.number),
        }


@dataclass(frozen=True, slots=True)
class CaseView:
    external_id: str
    kind: str
    status: str
    subject: str | None
    opened_at: datetime
    order_number: str | None
    url: str | None

    def to_json(self, links: Links) -> CardCase:
        return {
            "external_id": self.external_id,
            "kind": self.kind,
            "status": self.status,
            "subject": self.subject,
            "order_number": self.order_number,
            "opened_at": iso(self.opened_at),
            "url": links.case(self.url, self.external_id),
        }
