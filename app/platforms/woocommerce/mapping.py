"""WooCommerce's payloads as Ringcard's records (pure: no I/O). docs/store-platforms.md has the
operator's version of these decisions.

External ids are Woo's own numeric ids as text (`"727"`), with no `woo:` prefix, so the store's
own sync API or NDJSON import and the webhooks write the same records.

* The activation ping is a form-encoded `webhook_id=N` with no signature (Woo sends it before
  the secret is in use).
* `date_*_gmt` fields are UTC without an offset; the offset is added. `date_modified_gmt` orders
  the deliveries (newest wins); a customer never modified has none, and its creation time is used.
* Guests (`customer_id` 0): the order has no customer; its name and email come from `billing`.
* Refunds arrive as order.updated with `refunds: [{"id", "total": "-10.00"}]`; their sum is the
  order's refunded total, which lowers the lifetime value.
* An order saved with status `trash` is mapped to no record: it is deleted instead.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.platforms.payloads import (
    PayloadError,
    build,
    items_of,
    optional_decimal,
    optional_text,
    optional_time,
    phones_of,
    quantity,
    required_id,
    section,
)
from app.platforms.statuses import woocommerce_order_status
from app.store.schemas import CustomerIn, OrderIn, OrderStatus

__all__ = ["WooOrder", "map_customer", "map_order", "ping_webhook_id"]

_PING = re.compile(rb"webhook_id=(\d{1,20})")


def ping_webhook_id(body: bytes) -> str | None:
    """The N of an activation ping (`webhook_id=N`, form-encoded), else None."""
    match = _PING.fullmatch(body.strip())
    return match.group(1).decode() if match else None


@dataclass(frozen=True, slots=True)
class WooOrder:
    external_id: str
    # None when Woo says the order is in the trash: it is deleted instead.
    order: OrderIn | None
    updated_at: datetime


def _modified(payload: dict[str, Any]) -> datetime:
    modified = optional_time(payload, "date_modified_gmt", naive_is_utc=True) or optional_time(
        payload, "date_created_gmt", naive_is_utc=True
    )
    if modified is None:
        raise PayloadError("date_modified_gmt", "is required (or at least date_created_gmt)")
    return modified


def _text(value: Any, limit: int = 255) -> str | None:
    """Free text as a person wrote it. WordPress stores and sends text HTML-encoded (a product
    called `Ship Your Idea \u2013 Black` arrives as `Ship Your Idea &ndash; Black`), so the entities
    are decoded here, once, and nowhere else: the console escapes what it shows."""
    text = optional_text(value, 4 * limit)
    if text is None:
        return None
    return optional_text(html.unescape(text), limit)


def _person(obj: dict[str, Any]) -> str | None:
    names = [_text(obj.get("first_name")), _text(obj.get("last_name"))]
    return " ".join(n for n in names if n) or None


def _address_phones(billing: dict[str, Any], shipping: dict[str, Any]) -> list[dict[str, str]]:
    return phones_of((("billing", billing.get("phone")), ("shipping", shipping.get("phone"))), _text)


def map_customer(payload: dict[str, Any]) -> tuple[str, CustomerIn]:
    """A customer.* payload. The account's own names win; a customer who only ever checked out
    has them on the billing address alone."""
    external_id = required_id(payload)
    billing = section(payload, "billing")
    shipping = section(payload, "shipping")
    record = {
        "first_name": _text(payload.get("first_name")) or _text(billing.get("first_name")),
        "last_name": _text(payload.get("last_name")) or _text(billing.get("last_name")),
        "email": _text(payload.get("email"), 320) or _text(billing.get("email"), 320),
        "city": _text(billing.get("city")) or _text(shipping.get("city")),
        "phones": _address_phones(billing, shipping),
        "created_at": optional_time(payload, "date_created_gmt", naive_is_utc=True),
        "updated_at": _modified(payload),
    }
    return external_id, build(CustomerIn, record)


def _refunded(payload: dict[str, Any]) -> Decimal:
    # Woo lists each refund with a negative total ("-10.00"); the sign is Woo's bookkeeping.
    return sum(
        (
            abs(amount)
            for refund in items_of(payload, "refunds")
            if (amount := optional_decimal(refund, "total"))
        ),
        Decimal(0),
    )


def map_order(payload: dict[str, Any]) -> WooOrder:
    """An order.* payload with the order's full state."""
    external_id = required_id(payload)
    updated_at = _modified(payload)
    word = optional_text(payload.get("status"), 64)
    if word is None:
        raise PayloadError("status", "is required")
    if word.lower() == "trash":
        return WooOrder(external_id=external_id, order=None, updated_at=updated_at)
    billing = section(payload, "billing")
    shipping = section(payload, "shipping")
    customer_id = payload.get("customer_id")
    # 0 (or nothing) is Woo's guest checkout: the order identifies the caller by itself.
    guest = customer_id in (None, 0, "0", "")
    total = optional_decimal(payload, "total")
    if total is None:
        raise PayloadError("total", "is required")
    currency = (optional_text(payload.get("currency"), 8) or "").upper()
    if not currency:
        raise PayloadError("currency", "is required")
    placed_at = optional_time(payload, "date_created_gmt", naive_is_utc=True)
    if placed_at is None:
        raise PayloadError("date_created_gmt", "is required")
    status_ = woocommerce_order_status(word)
    completed = optional_time(payload, "date_completed_gmt", naive_is_utc=True)
    record = {
        "customer_external_id": None if guest else required_id(payload, "customer_id"),
        "name": _person(billing) or _person(shipping),
        "email": _text(billing.get("email"), 320),
        "city": _text(shipping.get("city")) or _text(billing.get("city")),
        "number": _text(payload.get("number"), 64) or external_id,
        "status": status_,
        # Woo has one status for money and goods alike; its own word is kept for display.
        "financial_status": word,
        "total": total,
        "refunded_total": _refunded(payload),
        "currency": currency,
        "placed_at": placed_at,
        # "completed" is Woo's "fulfilled": the best date the goods left (and, with no delivery
        # tracking, arrived) that Woo has.
        "shipped_at": completed if status_ in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) else None,
        "delivered_at": completed if status_ is OrderStatus.DELIVERED else None,
        "updated_at": updated_at,
        "phones": _address_phones(billing, shipping),
        "items": [
            {"title": title, "quantity": quantity(line)}
            for line in items_of(payload, "line_items")
            if (title := _text(line.get("name"), 500))
        ],
    }
    return WooOrder(external_id=external_id, order=build(OrderIn, record), updated_at=updated_at)
