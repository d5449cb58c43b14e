"""What each Shopify topic does to the store, and the table from topic to handling.

Shopify delivers at least once, in no particular order, and gives up on a delivery that takes
longer than 5 s. So each delivery is recorded by topic and event id and processed once, every
record keeps the newest `updated_at`, and every body we understand is answered 200, including
topics we do not use. docs/store-platforms.md has the operator's version of these decisions:

* Every full order payload (orders/create, updated, paid, fulfilled, partially_fulfilled,
  cancelled) is applied as the order's whole state. The customer embedded in it is applied too
  (when it is newer than what we hold), so the order is linked at once even if customers/create
  is not subscribed or arrives later.
* refunds/create lowers the lifetime value at once (app/store/order_refunds.py); the order payload
  that follows every refund recomputes it from the order's own list of refunds, and the refund ids
  it lists are recorded so that a late refunds/create is not counted twice. A refunds/create in
  the presentment currency of a multi-currency order waits for the order payload, which carries
  the rate.
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
* Return payloads carry no timestamp, so `X-Shopify-Triggered-At` (when Shopify raised the event)
  orders them; it is not covered by the HMAC, but neither is any header, and the body it travels
  with is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from app.kit.money import to_units
from app.platforms.answers import WebhookAnswer, outcome_of, written
from app.platforms.delivery_keys import first_delivery, record_deliveries
from app.platforms.payloads import PayloadError, build, optional_text, optional_time, required_id
from app.platforms.pipeline import Delivery, DeliveryKey, Ignored, Topic
from app.platforms.shopify.mapping import (
    ShopifyOrder,
    ShopifyRedact,
    ShopifyRefund,
    in_currency,
    map_customer,
    map_data_request,
    map_order,
    map_redact,
    map_refund,
)
from app.platforms.shopify.return_mapping import ShopifyReturn, map_return
from app.platforms.store_actions import apply_customer, delete_stored_order
from app.store.case_writes import apply_cases
from app.store.customer_writes import apply_customers
from app.store.erasures import anonymise_orders, erase_customer
from app.store.models import Case, Customer, Order
from app.store.order_deletes import deleted_since
from app.store.order_refunds import add_refund, order_to_refund
from app.store.order_writes import apply_orders
from app.store.schemas import CaseIn, CaseKind, CaseStatus, WriteResult
from app.store.write_transactions import (
    case_key,
    customer_key,
    lock_order_and_owner,
    lock_records,
    order_key,
)

__all__ = ["CUSTOMER_TOPICS", "ORDER_TOPICS", "TOPICS", "delivery_key"]

log = logging.getLogger("ringcard.store.shopify")

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


def delivery_key(delivery: Delivery, _mapped: object) -> DeliveryKey | None:
    """Shopify's event id, per topic: one event (an order paid) raises several topics with the
    same event id, and each of them must be processed once, not once in all."""
    headers = delivery.headers
    event = (headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id") or "").strip()
    if not event:
        return None
    key = f"{delivery.topic}:{event}"
    return DeliveryKey(key, f"delivery {key}")


async def _hold_order(d: Delivery, mapped: ShopifyOrder) -> None:
    # Every key this delivery writes under, in one go: the order's and its customer's.
    owner = mapped.order.customer_external_id
    await lock_records(
        d.session,
        [order_key(d.store, mapped.external_id), *([customer_key(d.store, owner)] if owner else [])],
    )


async def _apply_order(d: Delivery, mapped: ShopifyOrder) -> WebhookAnswer:
    record = mapped.order
    deleted = (await deleted_since(d.session, d.store, [mapped.external_id])).get(mapped.external_id)
    if deleted is not None and record.updated_at <= deleted:
        return d.answer("stale", f"order {mapped.external_id} was deleted; this older state is not applied")
    results: list[WriteResult] = []
    if mapped.customer is not None:
        ext, customer = mapped.customer
        stored = await d.session.scalar(
            select(Customer.updated_at).where(Customer.store_id == d.store, Customer.external_id == ext)
        )
        # An equal timestamp means the customers/* payload of the same state was (or will be)
        # applied; the embedded copy can be thinner, so it never overwrites it. An undated copy
        # only creates.
        if stored is None or (mapped.customer_is_dated and customer.updated_at > stored):
            results += written(
                await apply_customers(d.session, [mapped.customer], d.target, now=d.now, origin=d.origin)
            )
    order_results = written(
        await apply_orders(
            d.session,
            [(mapped.external_id, record)],
            d.target,
            now=d.now,
            origin=d.origin,
        )
    )
    if order_results[0].applied and mapped.refund_ids:
        # These refunds are now counted from the order's own list: a refunds/create for one of
        # them that arrives later must not subtract it again.
        await record_deliveries(
            d.session, d.platform.name, [d.scoped(f"refund:{r}") for r in mapped.refund_ids], d.now
        )
    return d.answer(outcome_of(order_results), None, order_results + results)


async def _hold_refund(d: Delivery, refund: ShopifyRefund) -> None:
    await lock_order_and_owner(d.session, d.store, refund.order_external_id)


async def _apply_refund(d: Delivery, refund: ShopifyRefund) -> WebhookAnswer:
    order = await order_to_refund(d.session, d.store, refund.order_external_id)
    if order is None:
        return d.answer(
            "ignored",
            f"order {refund.order_external_id} is not known yet; "
            "its refunds are counted from the order when it arrives",
        )
    if not await first_delivery(d.session, d.platform.name, d.scoped(f"refund:{refund.external_id}"), d.now):
        return d.answer("duplicate", f"refund {refund.external_id} is already counted")
    units = to_units(in_currency(list(refund.amounts), order.currency, None, None))
    if units == 0:
        return d.answer(
            "ignored",
            f"refund {refund.external_id} has no successful transaction in {order.currency}; "
            "the order update that follows it carries the amount",
        )
    await add_refund(d.session, order, units, refund.at, d.now)
    return d.answer("applied", None, [WriteResult(external_id=refund.order_external_id, applied=True)])


def _triggered_at(value: str | None) -> datetime | None:
    # Shopify writes nanoseconds (2023-03-29T18:00:27.877041743Z); Python reads microseconds.
    try:
        return optional_time({"t": value}, "t")
    except PayloadError:
        return None


def _read_return(payload: dict[str, Any], topic: str) -> ShopifyReturn | Ignored:
    mapped = map_return(payload, topic)
    if mapped is None:
        return Ignored(
            f"this {topic} delivery names no return; the return's state arrives with its other topics"
        )
    return mapped


async def _hold_return(d: Delivery, mapped: ShopifyReturn) -> None:
    await lock_records(d.session, [case_key(d.store, mapped.external_id)])


async def _apply_return(d: Delivery, mapped: ShopifyReturn) -> WebhookAnswer:
    stored = (
        await d.session.execute(
            select(
                Case.kind,
                Case.status,
                Case.subject,
                Case.opened_at,
                Case.order_external_id,
                Case.customer_external_id,
            ).where(Case.store_id == d.store, Case.external_id == mapped.external_id)
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
            select(Order.customer_external_id).where(
                Order.store_id == d.store, Order.external_id == order_ext
            )
        )
    at = _triggered_at(d.headers.get("x-shopify-triggered-at")) or d.now
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
    return d.answer_writes(
        await apply_cases(d.session, [(mapped.external_id, record)], store=d.store, now=d.now)
    )


async def _erase_deleted(d: Delivery, external_id: str) -> WebhookAnswer:
    await erase_customer(d.session, d.store, external_id, d.now)
    return d.answer("erased", "a deleted customer account is erased, as a redact request would be")


async def _redact(d: Delivery, redact: ShopifyRedact) -> WebhookAnswer:
    # This shop's customer only: the same person in another store is that store's to erase.
    await erase_customer(d.session, d.store, redact.customer_external_id, d.now)
    await anonymise_orders(d.session, d.store, redact.order_external_ids)
    return d.answer("erased")


async def _log_data_request(d: Delivery, ids: tuple[str | None, str | None]) -> WebhookAnswer:
    customer_id, request_id = ids
    log.warning(
        "shopify customers/data_request %s for customer %s: answer it from the store's admin; "
        "Ringcard holds only copies of the store's own records",
        request_id if request_id and request_id.isdigit() else "?",
        customer_id if customer_id and customer_id.isdigit() else "?",
    )
    return d.answer(
        "logged", "Ringcard keeps only copies of the store's records; the store answers the request"
    )


async def _log_shop_redact(d: Delivery, shop_domain: str | None) -> WebhookAnswer:
    # The shop's domain identifies a business, not a person.
    log.warning("shopify shop/redact for shop %s (store %s) received", shop_domain, d.store)
    return d.answer(
        "ignored",
        f"shop/redact is not acted on by itself: erase store {d.store!r}'s customers, "
        f"then DELETE /api/v1/stores/{d.store}",
    )


_ORDER = Topic(read=lambda p, _: map_order(p), hold=_hold_order, act=_apply_order)
_CUSTOMER = Topic(read=lambda p, _: map_customer(p), act=apply_customer)

TOPICS: Mapping[str, Topic[Any]] = MappingProxyType(
    {
        **dict.fromkeys(ORDER_TOPICS, _ORDER),
        "orders/delete": Topic(read=lambda p, _: required_id(p), act=delete_stored_order),
        "refunds/create": Topic(read=lambda p, _: map_refund(p), hold=_hold_refund, act=_apply_refund),
        **dict.fromkeys(CUSTOMER_TOPICS, _CUSTOMER),
        "customers/delete": Topic(read=lambda p, _: required_id(p), act=_erase_deleted),
        "customers/redact": Topic(read=lambda p, _: map_redact(p), act=_redact),
        "customers/data_request": Topic(read=lambda p, _: map_data_request(p), act=_log_data_request),
        "shop/redact": Topic(
            read=lambda p, _: optional_text(p.get("shop_domain"), 255), act=_log_shop_redact
        ),
        "returns/*": Topic(read=_read_return, hold=_hold_return, act=_apply_return),
    }
)
