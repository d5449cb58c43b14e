"""Shopify webhooks (`POST /webhooks/shopify`): verification, payload mapping, and the route.

Shopify delivers at least once, in no particular order, and gives up on a delivery that takes
longer than 5 s. So: the HMAC is checked over the raw body before anything is parsed; each
delivery is recorded by topic and event id and processed once; every record keeps the newest
`updated_at`; and every body we understand is answered 200, including topics we do not use.

External ids are Shopify's own numeric ids as text (`"820982911946154508"`), with no `shopify:`
prefix, so a store that also pushes through the sync API or the NDJSON import writes the very same
records the webhooks write, instead of creating a second copy of every customer.

Decisions worth knowing (docs/store-platforms.md has the operator's version):

* Every full order payload (orders/create, updated, paid, fulfilled, partially_fulfilled,
  cancelled) is applied as the order's whole state. The customer embedded in it is applied too
  (when it is newer than what we hold), so the order is linked at once even if customers/create
  is not subscribed or arrives later.
* Phones: `customer.phone` and `customer.default_address.phone` are the customer's; the order's
  `billing_address.phone` and `shipping_address.phone` (and the checkout contact `phone`, filed as
  a billing phone) are the order's. All four routes find the caller.
* Lifetime value: `total_price` minus the successful refund transactions. refunds/create lowers it
  at once; the order payload that follows every refund recomputes it from the order's own list of
  refunds, and the refund ids it lists are recorded so that a late refunds/create is not counted
  twice. Refund transactions in the presentment currency of a multi-currency order are converted at
  that order's own rate (`total_price_set`); a refunds/create in such a currency waits for the order
  payload, which carries the rate.
* orders/delete removes the order (app/store/order_deletes.py); a delivery of an older state of it
  that arrives later is not applied.
* customers/delete and customers/redact both erase the person (app/store/erasures.py): a store that
  deletes a customer account is, under GDPR and the Shopify terms, asking us to forget them. Their
  orders stay, anonymised, for the store's totals. customers/redact also anonymises the listed
  `orders_to_redact` that are not linked to the customer (guest checkouts with the same email).
* customers/data_request is logged (ids only) and answered 200: Ringcard holds nothing the store
  does not hold itself, so the store answers the request from its own admin.
* shop/redact is answered 200 and erases nothing: Ringcard does not record which shop a record
  came from, so it cannot tell that shop's records from another's. An operator who removes a store
  drops its Ringcard database (one database serves one store).
* returns/* become cases: kind `exchange` when the return carries exchange line items, `return`
  otherwise. Return payloads carry no timestamp, so `X-Shopify-Triggered-At` (when Shopify raised the
  event) orders them; it is not covered by the HMAC, but neither is any header, and the body it
  travels with is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.integrations import deliveries
from app.kit.money import CURRENCY_EXPONENTS, to_units
from app.platforms.pipeline import (
    WEBHOOK_RESPONSES,
    DeliveryOutcome,
    PayloadError,
    WebhookAnswer,
    build,
    first_delivery,
    forget_old_deliveries,
    items_of,
    json_object,
    optional_decimal,
    optional_text,
    optional_time,
    read_body,
    record_deliveries,
    required_id,
    required_time,
    section,
    signature_valid,
    unreadable,
    webhook_openapi,
)
from app.platforms.statuses import (
    SHOPIFY_DEAD_FULFILLMENTS,
    shopify_order_status,
    shopify_return_status,
)
from app.store.aggregates import AggregateDeltas, OrderContribution
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.erasures import erase_customer
from app.store.models import Case, Customer, Order, Phone
from app.store.order_deletes import delete_order, deleted_since
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CaseKind, CaseStatus, CustomerIn, OrderIn, Outcome, WriteResult
from app.store.write_transactions import case_key, customer_key, lock_records, order_key, run_write
from app.web.auth import SettingsDep

__all__ = [
    "ShopifyOrder",
    "ShopifyRefund",
    "ShopifyReturn",
    "map_customer",
    "map_order",
    "map_refund",
    "map_return",
    "return_id",
    "router",
]

PLATFORM = "shopify"
log = logging.getLogger("ringcard.store.shopify")
router = APIRouter(tags=["store platforms"])

# Topics whose payload is the whole order.
ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/cancelled",
    }
)
# Topics whose payload is the whole customer.
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update", "customers/enable", "customers/disable"})


# --- payload mapping (pure: no I/O, so it is tested and reasoned about on its own) -------------


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


@dataclass(frozen=True, slots=True)
class ShopifyReturn:
    external_id: str
    order_external_id: str | None
    kind: CaseKind | None
    status: CaseStatus | None
    subject: str | None


def _nested_id(payload: dict[str, Any], field: str) -> str | None:
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
        phones = [
            {"number": number, "kind": kind}
            for kind, raw in (("phone", payload.get("phone")), ("default_address", address.get("phone")))
            if (number := optional_text(raw, 64))
        ]
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


def _in_currency(
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


def _quantity(line: dict[str, Any]) -> int:
    value = line.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), 1_000_000)


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
    phones = [
        {"number": number, "kind": kind}
        for kind, raw in (("billing", billing.get("phone")), ("shipping", shipping.get("phone")))
        if (number := optional_text(raw, 64))
    ]
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
    refunded = _in_currency(
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
    customer_external_id = _nested_id(payload, "customer")
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
            {"title": title, "quantity": _quantity(line)}
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


def _return_lines(payload: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A return's line items, or None when the payload does not list them. returns/update sends
    only what changed (`{"removals": [...]}` instead of the list), which says nothing about the
    return's kind or subject."""
    value = payload.get("return_line_items")
    if isinstance(value, dict):
        return None
    return items_of(payload, "return_line_items") if "return_line_items" in payload else None


def _return_subject(payload: dict[str, Any], lines: list[dict[str, Any]], kind: CaseKind) -> str:
    """The case's subject, such as `Return #1042-R1: 2 items (size too small, wrong item)`."""
    count = sum(_quantity(line) for line in lines)
    # Shopify's reason codes only (wrong_item, size_too_small, ...): the customer's own notes are
    # free text that may hold personal data, and the card does not need them to route a call.
    reasons = sorted(
        {r.replace("_", " ") for line in lines if (r := optional_text(line.get("return_reason"), 64))}
    )
    label = "Exchange" if kind is CaseKind.EXCHANGE else "Return"
    name = optional_text(payload.get("name"), 64)
    subject = f"{label} {name}" if name else label
    if count:
        subject += f": {count} item{'s' if count != 1 else ''}"
    if reasons:
        subject += f" ({', '.join(reasons)})"
    return subject


def _gid_tail(value: Any, kind: str) -> str | None:
    """The numeric id inside an Admin API global id (`gid://shopify/Return/945000954`)."""
    text = optional_text(value)
    prefix = f"gid://shopify/{kind}/"
    if text is None or not text.startswith(prefix):
        return None
    tail = text[len(prefix) :].split("?", 1)[0]
    return tail if tail.isdigit() and tail.strip("0") else None


def return_id(payload: dict[str, Any]) -> str | None:
    """The return's id: `id`, or (returns/update carries no `id`) the tail of its global id."""
    if payload.get("id") is not None:
        return required_id(payload)
    return _gid_tail(payload.get("admin_graphql_api_id"), "Return")


def map_return(payload: dict[str, Any], topic: str) -> ShopifyReturn | None:
    """A returns/* payload, or None when it names no return (returns/process arrives as `{}`).
    Fields a topic leaves out (returns/update sends only what changed; returns/close, cancel and
    reopen only the status) come back as None, meaning "keep what is stored"."""
    external_id = return_id(payload)
    if external_id is None:
        return None
    exchanges = payload.get("exchange_line_items")
    exchange_lines = items_of(payload, "exchange_line_items") if isinstance(exchanges, list) else []
    exchange_count = payload.get("total_exchange_line_items")
    lines = _return_lines(payload)
    kind: CaseKind | None = None
    if exchange_lines or (isinstance(exchange_count, int) and exchange_count > 0):
        kind = CaseKind.EXCHANGE
    elif lines is not None or isinstance(exchanges, list):
        kind = CaseKind.RETURN
    order_id = _nested_id(payload, "order")
    if order_id is None and payload.get("order_id") is not None:
        # returns/close, cancel and reopen name the order at the top level.
        order_id = required_id(payload, "order_id")
    return ShopifyReturn(
        external_id=external_id,
        order_external_id=order_id,
        kind=kind,
        status=shopify_return_status(optional_text(payload.get("status"), 32), topic),
        subject=_return_subject(payload, lines or [], kind) if kind is not None else None,
    )


# --- applying ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Delivery:
    session: AsyncSession
    topic: str
    region: str
    now: datetime
    key: str | None
    # When Shopify raised the event (X-Shopify-Triggered-At), for payloads without a timestamp.
    triggered_at: datetime | None

    async def is_new(self) -> bool:
        return self.key is None or await first_delivery(self.session, PLATFORM, self.key, self.now)

    def answer(
        self, outcome: DeliveryOutcome, note: str | None = None, results: list[WriteResult] | None = None
    ) -> WebhookAnswer:
        log.info("shopify %s: %s", self.topic, outcome)
        return WebhookAnswer(topic=self.topic, outcome=outcome, note=note, results=results or [])

    def duplicate(self) -> WebhookAnswer:
        return self.answer("duplicate", f"delivery {self.key} was already processed")


def _written(outcomes: list[Outcome]) -> list[WriteResult]:
    return [WriteResult(**outcome._asdict()) for outcome in outcomes]


def _outcome(results: list[WriteResult]) -> DeliveryOutcome:
    return "applied" if any(r.applied for r in results) else (results[0].reason or "stale")


async def _apply_order(d: _Delivery, mapped: ShopifyOrder) -> WebhookAnswer:
    # Every key this delivery writes under, in one go: the order's and its customer's.
    owner = mapped.order.customer_external_id
    await lock_records(d.session, [order_key(mapped.external_id), *([customer_key(owner)] if owner else [])])
    if not await d.is_new():
        return d.duplicate()
    record = mapped.order
    deleted = (await deleted_since(d.session, [mapped.external_id])).get(mapped.external_id)
    if deleted is not None and record.updated_at <= deleted:
        return d.answer("stale", f"order {mapped.external_id} was deleted; this older state is not applied")
    results: list[WriteResult] = []
    if mapped.customer is not None:
        ext, customer = mapped.customer
        stored = await d.session.scalar(select(Customer.updated_at).where(Customer.external_id == ext))
        # An equal timestamp means the customers/* payload of the same state was (or will be)
        # applied; the embedded copy can be thinner, so it never overwrites it. An undated copy
        # only creates.
        if stored is None or (mapped.customer_is_dated and customer.updated_at > stored):
            results += _written(
                await apply_customers(d.session, [mapped.customer], region=d.region, now=d.now)
            )
    order_results = _written(
        await apply_orders(d.session, [(mapped.external_id, record)], region=d.region, now=d.now)
    )
    if order_results[0].applied and mapped.refund_ids:
        # These refunds are now counted from the order's own list: a refunds/create for one of
        # them that arrives later must not subtract it again.
        await record_deliveries(d.session, PLATFORM, [f"refund:{r}" for r in mapped.refund_ids], d.now)
    return d.answer(_outcome(order_results), None, order_results + results)


async def _apply_refund(d: _Delivery, refund: ShopifyRefund) -> WebhookAnswer:
    await lock_records(d.session, [order_key(refund.order_external_id)])
    owner = await d.session.scalar(
        select(Order.customer_external_id).where(Order.external_id == refund.order_external_id)
    )
    if owner is not None:
        await lock_records(d.session, [customer_key(owner)])
    if not await d.is_new():
        return d.duplicate()
    order = (
        await d.session.execute(
            select(
                Order.id,
                Order.customer_id,
                Order.status,
                Order.currency,
                Order.total_units,
                Order.refunded_units,
                Order.placed_at,
                Order.updated_at,
            ).where(Order.external_id == refund.order_external_id)
        )
    ).first()
    if order is None:
        return d.answer(
            "ignored",
            f"order {refund.order_external_id} is not known yet; "
            "its refunds are counted from the order when it arrives",
        )
    if not await first_delivery(d.session, PLATFORM, f"refund:{refund.external_id}", d.now):
        return d.answer("duplicate", f"refund {refund.external_id} is already counted")
    units = to_units(_in_currency(list(refund.amounts), order.currency, None, None))
    if units == 0:
        return d.answer(
            "ignored",
            f"refund {refund.external_id} has no successful transaction in {order.currency}; "
            "the order update that follows it carries the amount",
        )
    deltas = AggregateDeltas()
    deltas.order_changed(
        OrderContribution.of(
            order.customer_id,
            order.status,
            order.currency,
            order.total_units,
            order.refunded_units,
            order.placed_at,
        ),
        OrderContribution.of(
            order.customer_id,
            order.status,
            order.currency,
            order.total_units,
            order.refunded_units + units,
            order.placed_at,
        ),
    )
    await d.session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(
            refunded_units=order.refunded_units + units,
            # Moving updated_at to the refund keeps an older order payload, delivered late, from
            # undoing it; the payload Shopify sends after the refund is newer still and applies.
            updated_at=max(order.updated_at, refund.at),
            synced_at=d.now,
        )
        .execution_options(synchronize_session=False)
    )
    await deltas.apply(d.session)
    return d.answer("applied", None, [WriteResult(external_id=refund.order_external_id, applied=True)])


async def _apply_return(d: _Delivery, mapped: ShopifyReturn) -> WebhookAnswer:
    await lock_records(d.session, [case_key(mapped.external_id)])
    if not await d.is_new():
        return d.duplicate()
    stored = (
        await d.session.execute(
            select(
                Case.kind,
                Case.status,
                Case.subject,
                Case.opened_at,
                Case.order_external_id,
                Case.customer_external_id,
            ).where(Case.external_id == mapped.external_id)
        )
    ).first()
    order_ext = mapped.order_external_id or (stored.order_external_id if stored else None)
    if order_ext is None:
        return d.answer("ignored", f"return {mapped.external_id} names no order and is not known")
    customer_ext = stored.customer_external_id if stored else None
    if customer_ext is None:
        # A return names only its order; naming the order's customer too lets the case be linked
        # when the customer arrives after it.
        customer_ext = await d.session.scalar(
            select(Order.customer_external_id).where(Order.external_id == order_ext)
        )
    at = d.triggered_at or d.now
    record = build(
        CaseIn,
        {
            "customer_external_id": customer_ext,
            "order_external_id": order_ext,
            "kind": mapped.kind or (stored.kind if stored else CaseKind.RETURN),
            # A return first heard of through returns/update or returns/process is under way.
            "status": mapped.status or (stored.status if stored else CaseStatus.IN_PROGRESS),
            "subject": mapped.subject or (stored.subject if stored else None),
            "opened_at": stored.opened_at if stored else at,
            "updated_at": at,
        },
    )
    results = _written(await apply_cases(d.session, [(mapped.external_id, record)], now=d.now))
    return d.answer(_outcome(results), None, results)


async def _anonymise_orders(session: AsyncSession, external_ids: list[str]) -> None:
    """Strip what identifies a person from these orders, keeping them (and their customer link,
    which erase_customer handles) for the store's totals."""
    await lock_records(session, map(order_key, external_ids))
    order_ids = select(Order.id).where(Order.external_id.in_(external_ids)).scalar_subquery()
    await session.execute(delete(Phone).where(Phone.order_id.in_(order_ids)))
    await session.execute(
        update(Order)
        .where(Order.external_id.in_(external_ids))
        .values(name=None, email=None, city=None, tracking_url=None)
        .execution_options(synchronize_session=False)
    )


async def _dispatch(d: _Delivery, payload: dict[str, Any]) -> WebhookAnswer:
    topic = d.topic
    if topic in ORDER_TOPICS:
        return await _apply_order(d, map_order(payload))
    if topic == "orders/delete":
        external_id = required_id(payload)
        if not await d.is_new():
            return d.duplicate()
        existed = await delete_order(d.session, external_id, d.now)
        return d.answer(
            "deleted" if existed else "ignored", None if existed else f"order {external_id} was not stored"
        )
    if topic == "refunds/create":
        return await _apply_refund(d, map_refund(payload))
    if topic in CUSTOMER_TOPICS:
        mapped = map_customer(payload)
        if not await d.is_new():
            return d.duplicate()
        results = _written(await apply_customers(d.session, [mapped], region=d.region, now=d.now))
        return d.answer(_outcome(results), None, results)
    if topic == "customers/delete":
        external_id = required_id(payload)
        if not await d.is_new():
            return d.duplicate()
        await erase_customer(d.session, external_id, d.now)
        return d.answer("erased", "a deleted customer account is erased, as a redact request would be")
    if topic == "customers/redact":
        redacted = _nested_id(payload, "customer")
        if redacted is None:
            raise PayloadError("customer.id", "is required")
        orders = payload.get("orders_to_redact")
        order_ids = (
            [str(o) for o in orders if isinstance(o, int | str) and not isinstance(o, bool)]
            if isinstance(orders, list)
            else []
        )
        if not await d.is_new():
            return d.duplicate()
        await erase_customer(d.session, redacted, d.now)
        if order_ids:
            await _anonymise_orders(d.session, order_ids)
        return d.answer("erased")
    if topic == "customers/data_request":
        customer_id = _nested_id(payload, "customer")
        request_id = _nested_id(payload, "data_request")
        if not await d.is_new():
            return d.duplicate()
        # Ids only (checked to be ids): the request itself carries the person's email and phone.
        log.warning(
            "shopify customers/data_request %s for customer %s: answer it from the store's admin; "
            "Ringcard holds only copies of the store's own records",
            request_id if request_id and request_id.isdigit() else "?",
            customer_id if customer_id and customer_id.isdigit() else "?",
        )
        return d.answer(
            "logged", "Ringcard keeps only copies of the store's records; the store answers the request"
        )
    if topic == "shop/redact":
        if not await d.is_new():
            return d.duplicate()
        # The shop's domain identifies a business, not a person.
        log.warning(
            "shopify shop/redact for shop %s received", optional_text(payload.get("shop_domain"), 255)
        )
        return d.answer(
            "ignored",
            "Ringcard does not record which shop a record came from; remove the shop's Ringcard database",
        )
    if topic.startswith("returns/"):
        mapped_return = map_return(payload, topic)
        if mapped_return is None:
            return d.answer(
                "ignored",
                f"this {topic} delivery names no return; the return's state arrives with its other topics",
            )
        return await _apply_return(d, mapped_return)
    return d.answer("ignored", f"topic {topic} is not used by Ringcard")


def _triggered_at(value: str | None) -> datetime | None:
    # Shopify writes nanoseconds (2023-03-29T18:00:27.877041743Z); Python reads microseconds.
    try:
        return optional_time({"t": value}, "t")
    except PayloadError:
        return None


@router.post(
    "/webhooks/shopify",
    response_model=WebhookAnswer,
    summary="Shopify: a webhook delivery (orders, refunds, customers, returns, privacy topics)",
    openapi_extra=webhook_openapi(
        "A Shopify webhook payload; X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body "
        "with RINGCARD_SHOPIFY_WEBHOOK_SECRET, X-Shopify-Topic names the topic.",
        signature="shopifyHmac",
        headers={
            "X-Shopify-Topic": "the topic, e.g. orders/updated (required)",
            "X-Shopify-Event-Id": "the same across duplicate deliveries: de-duplicates, per topic",
            "X-Shopify-Webhook-Id": "read when X-Shopify-Event-Id is absent",
            "X-Shopify-Triggered-At": "when Shopify raised the event",
        },
    ),
    responses=WEBHOOK_RESPONSES,
)
async def shopify_webhook(request: Request, settings: SettingsDep) -> WebhookAnswer:
    """Orders, refunds, customers (including the mandatory privacy topics) and returns."""
    secret = settings.shopify_webhook_secret
    if not secret:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "Shopify webhooks are switched off: set RINGCARD_SHOPIFY_WEBHOOK_SECRET",
        )
    body = await read_body(request)
    if not signature_valid(secret, body, request.headers.get("x-shopify-hmac-sha256")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "X-Shopify-Hmac-Sha256 is missing or is not this body's HMAC-SHA256 "
            "with RINGCARD_SHOPIFY_WEBHOOK_SECRET",
        )
    topic = (request.headers.get("x-shopify-topic") or "").strip().lower()
    if not topic:
        raise unreadable(PayloadError("X-Shopify-Topic", "is missing"), "header")
    deliveries.note_what(topic)
    event = (
        request.headers.get("x-shopify-event-id") or request.headers.get("x-shopify-webhook-id") or ""
    ).strip()
    triggered_at = _triggered_at(request.headers.get("x-shopify-triggered-at"))

    async def handle(session: AsyncSession) -> WebhookAnswer:
        delivery = _Delivery(
            session=session,
            topic=topic,
            region=settings.default_region,
            now=utcnow(),
            # Per topic: one event (an order paid) raises several topics with the same event id,
            # and each of them must be processed once, not once in all.
            key=f"{topic}:{event}" if event else None,
            triggered_at=triggered_at,
        )
        answer = await _dispatch(delivery, json_object(body))
        await forget_old_deliveries(session, delivery.now)
        return answer

    try:
        answer = await run_write(request.app.state.sessionmaker, handle)
    except PayloadError as exc:
        raise unreadable(exc) from None
    except IntegrityError:
        # Only after run_write's retries: two deliveries kept racing to create the same record.
        # Shopify retries this one, which then finds the record and updates it.
        raise HTTPException(
            status.HTTP_409_CONFLICT, "a concurrent delivery wrote the same record; retry"
        ) from None
    if answer.outcome == "duplicate":
        deliveries.note_duplicate()
    return answer
