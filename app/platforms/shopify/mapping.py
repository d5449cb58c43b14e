"""Shopify's payloads as Ringcard's records (pure: no I/O, so it is tested and reasoned about on
its own). docs/store-platforms.md has the operator's version of these decisions.

External ids are Shopify's own numeric ids as text (`"820982911946154508"`), with no `shopify:`
prefix, so a store that also pushes through the sync API or the NDJSON import writes the very same
records the webhooks write, instead of creating a second copy of every customer.

* Every full order payload is the order's whole state, with the customer it embeds.
* Phones: `customer.phone` and `customer.default_address.phone` are the customer's; the order's
  `billing_address.phone` and `shipping_address.phone` (and the checkout contact `phone`, filed as
  a billing phone) are the order's. All four routes find the caller.
* Lifetime value: `total_price` minus the successful refund transactions. Refund transactions in
  the presentment currency of a multi-currency order are converted at that order's own rate
  (`total_price_set`).
* returns/* are mapped in return_mapping.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.kit.money import CURRENCY_EXPONENTS
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
    required_time,
    section,
)
from app.platforms.statuses import (
    SHOPIFY_DEAD_FULFILLMENTS,
    shopify_order_status,
)
from app.store.schemas import CustomerIn, OrderIn

__all__ = [
    "ShopifyOrder",
    "ShopifyRedact",
    "ShopifyRefund",
    "in_currency",
    "map_customer",
    "map_data_request",
    "map_order",
    "map_redact",
    "map_refund",
    "nested_id",
    "refund_amounts",
]


@dataclass(frozen=True, slots=True)
class ShopifyOrder:
    external_id: str
    order: OrderIn
    customer: tuple[str, CustomerIn] | None
    # False when the embedded customer had no updated_at of its own (see map_order).
    customer_is_dated: bool
    refund_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShopifyRefund:
    external_id: str
    order_external_id: str
    at: datetime
    # Successful refund transactions as (amount, currency); currency None when not stated.
    amounts: tuple[tuple[Decimal, str | None], ...]


def nested_id(payload: dict[str, Any], field: str) -> str | None:
    """The id of a nested object (`order.id`, `customer.id`), None when the object is absent."""
    nested = section(payload, field)
    if nested.get("id") is None:
        return None
    try:
        return required_id(nested)
    except PayloadError as exc:
        raise PayloadError(f"{field}.id", exc.message) from None


def _person(obj: dict[str, Any]) -> str | None:
    names = [optional_text(obj.get("first_name")), optional_text(obj.get("last_name"))]
    return " ".join(n for n in names if n) or optional_text(obj.get("name"))


def _tags(value: Any) -> list[str]:
    # The REST payload joins tags with ", "; accept a list too, as GraphQL-shaped payloads send.
    parts = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [tag for part in parts if (tag := optional_text(part))][:200]


def map_customer(payload: dict[str, Any], where: str = "") -> tuple[str, CustomerIn]:
    """A customers/* payload (or the customer embedded in an order). API 2025-01 sends no
    orders_count/total_spent; Ringcard computes both from the orders anyway."""
    try:
        external_id = required_id(payload)
        address = section(payload, "default_address")
        phones = phones_of((("phone", payload.get("phone")), ("default_address", address.get("phone"))))
        record = {
            "first_name": optional_text(payload.get("first_name")),
            "last_name": optional_text(payload.get("last_name")),
            "email": optional_text(payload.get("email"), 320),
            "city": optional_text(address.get("city")),
            "phones": phones,
            "tags": _tags(payload.get("tags")),
            "note": optional_text(payload.get("note"), 10_000),
            "created_at": optional_time(payload, "created_at"),
            "updated_at": required_time(payload, "updated_at"),
        }
    except PayloadError as exc:
        raise PayloadError(".".join(p for p in (where, exc.field) if p), exc.message) from None
    return external_id, build(CustomerIn, record, where)


def _rate(payload: dict[str, Any], currency: str) -> tuple[str | None, Decimal | None]:
    """The order's presentment currency and its rate into the shop currency, when they differ."""
    prices = section(payload, "total_price_set")
    shop = section(prices, "shop_money")
    shown = section(prices, "presentment_money")
    presentment = (optional_text(shown.get("currency_code")) or "").upper() or None
    if presentment is None or presentment == currency:
        return presentment, None
    shop_amount, shown_amount = optional_decimal(shop, "amount"), optional_decimal(shown, "amount")
    if shop_amount is None or not shown_amount:
        return presentment, None
    return presentment, shop_amount / shown_amount


def refund_amounts(refund: dict[str, Any]) -> list[tuple[Decimal, str | None]]:
    """The money a refund returned: its successful `refund` transactions. Refund line items and
    order adjustments describe what was refunded; the transactions are what was paid back."""
    amounts = []
    for tx in items_of(refund, "transactions"):
        if (optional_text(tx.get("kind")) or "").lower() != "refund":
            continue
        if (optional_text(tx.get("status")) or "").lower() != "success":
            continue
        amount = optional_decimal(tx, "amount")
        if amount:
            amounts.append((abs(amount), (optional_text(tx.get("currency")) or "").upper() or None))
    return amounts


def in_currency(
    amounts: list[tuple[Decimal, str | None]], currency: str, presentment: str | None, rate: Decimal | None
) -> Decimal:
    quantum = Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))
    total = Decimal(0)
    for amount, tx_currency in amounts:
        if tx_currency in (None, currency):
            total += amount
        elif rate is not None and tx_currency == presentment:
            try:
                total += (amount * rate).quantize(quantum)
            except InvalidOperation:
                raise PayloadError("total_price_set", "gives no usable exchange rate") from None
    return total


def _live_fulfillments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in items_of(payload, "fulfillments")
        # Cancelled or failed fulfillments shipped nothing: their tracking and dates are not the order's.
        if (optional_text(f.get("status")) or "").lower() not in SHOPIFY_DEAD_FULFILLMENTS
    ]


def _tracking_url(fulfillments: list[dict[str, Any]]) -> str | None:
    # The newest parcel is the one a caller asks about.
    for fulfillment in reversed(fulfillments):
        urls = fulfillment.get("tracking_urls")
        for url in [*(urls if isinstance(urls, list) else []), fulfillment.get("tracking_url")]:
            if text := optional_text(url, 2048):
                return text
    return None


def _order_phones(billing: dict[str, Any], shipping: dict[str, Any], contact: Any) -> list[dict[str, str]]:
    phones = phones_of((("billing", billing.get("phone")), ("shipping", shipping.get("phone"))))
    # The checkout's contact phone (SMS checkouts, POS) is often the only number on the order;
    # filed as billing, the role it plays, unless the billing address already carries it.
    if (number := optional_text(contact, 64)) and number not in {p["number"] for p in phones}:
        phones.append({"number": number, "kind": "billing"})
    return phones


def map_order(payload: dict[str, Any]) -> ShopifyOrder:
    """A full order payload: the order, the customer it embeds, and the refunds it lists."""
    external_id = required_id(payload)
    currency = (optional_text(payload.get("currency"), 8) or "").upper()
    if not currency:
        raise PayloadError("currency", "is required")
    total = optional_decimal(payload, "total_price")
    if total is None:
        total = optional_decimal(section(section(payload, "total_price_set"), "shop_money"), "amount")
    if total is None:
        raise PayloadError("total_price", "is required")
    presentment, rate = _rate(payload, currency)
    refunds = items_of(payload, "refunds")
    refunded = in_currency(
        [a for refund in refunds for a in refund_amounts(refund)], currency, presentment, rate
    )
    billing = section(payload, "billing_address")
    shipping = section(payload, "shipping_address")
    customer = section(payload, "customer")
    fulfillments = _live_fulfillments(payload)
    financial = optional_text(payload.get("financial_status"), 64)
    fulfilment = optional_text(payload.get("fulfillment_status"), 64)
    shipped = [t for f in fulfillments if (t := optional_time(f, "created_at"))]
    embedded = None
    embedded_is_dated = bool(customer.get("updated_at"))
    customer_external_id = nested_id(payload, "customer")
    if customer_external_id is not None:
        # Shopify's own sample (and orders of some channels) embed the customer with updated_at
        # null. Such a copy cannot be ordered against other deliveries, so it only creates a
        # customer Ringcard does not know yet (dated as the order), never overwrites one.
        dated = customer if embedded_is_dated else {**customer, "updated_at": payload.get("updated_at")}
        embedded = map_customer(dated, "customer")
    record = {
        "customer_external_id": customer_external_id,
        "name": _person(billing) or _person(shipping) or _person(customer),
        "email": optional_text(payload.get("email"), 320)
        or optional_text(payload.get("contact_email"), 320)
        or optional_text(customer.get("email"), 320),
        "city": optional_text(shipping.get("city")) or optional_text(billing.get("city")),
        "number": optional_text(payload.get("name"), 64)
        or optional_text(payload.get("order_number"), 64)
        or external_id,
        "status": shopify_order_status(
            cancelled=bool(payload.get("cancelled_at")),
            financial_status=financial,
            fulfillment_status=fulfilment,
            fulfillments=[
                (optional_text(f.get("status")), optional_text(f.get("shipment_status")))
                for f in fulfillments
            ],
        ),
        "financial_status": financial,
        "fulfillment_status": fulfilment,
        "total": total,
        "refunded_total": max(refunded, Decimal(0)),
        "currency": currency,
        "placed_at": optional_time(payload, "processed_at") or required_time(payload, "created_at"),
        "shipped_at": min(shipped) if shipped else None,
        "updated_at": required_time(payload, "updated_at"),
        "phones": _order_phones(billing, shipping, payload.get("phone")),
        "tracking_url": _tracking_url(fulfillments),
        "items": [
            {"title": title, "quantity": quantity(line)}
            for line in items_of(payload, "line_items")
            if (title := optional_text(line.get("name"), 500) or optional_text(line.get("title"), 500))
        ],
    }
    return ShopifyOrder(
        external_id=external_id,
        order=build(OrderIn, record),
        customer=embedded,
        customer_is_dated=embedded_is_dated,
        refund_ids=tuple(required_id(refund) for refund in refunds),
    )


def map_refund(payload: dict[str, Any]) -> ShopifyRefund:
    return ShopifyRefund(
        external_id=required_id(payload),
        order_external_id=required_id(payload, "order_id"),
        at=optional_time(payload, "processed_at") or required_time(payload, "created_at"),
        amounts=tuple(refund_amounts(payload)),
    )


@dataclass(frozen=True, slots=True)
class ShopifyRedact:
    customer_external_id: str
    # orders_to_redact: may include guest checkouts of the person, linked to no customer.
    order_external_ids: tuple[str, ...]


def map_redact(payload: dict[str, Any]) -> ShopifyRedact:
    """A customers/redact payload."""
    redacted = nested_id(payload, "customer")
    if redacted is None:
        raise PayloadError("customer.id", "is required")
    orders = payload.get("orders_to_redact")
    order_ids = (
        [str(o) for o in orders if isinstance(o, int | str) and not isinstance(o, bool)]
        if isinstance(orders, list)
        else []
    )
    return ShopifyRedact(customer_external_id=redacted, order_external_ids=tuple(order_ids))


def map_data_request(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """A customers/data_request payload's (customer id, request id): ids only, since the request
    itself carries the person's email and phone."""
    return nested_id(payload, "customer"), nested_id(payload, "data_request")
