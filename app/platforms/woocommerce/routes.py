"""WooCommerce webhooks (`POST /webhooks/woocommerce`): verification, payload mapping, the route.

WooCommerce disables a webhook after more than five consecutive failed deliveries, so every body
we understand is answered 200, topics we do not use included; only a bad signature (401) or a body
we cannot read (422) fails. The payload is the resource's state when Woo sent it.

External ids are Woo's own numeric ids as text (`"727"`), with no `woo:` prefix, so the store's
own sync API or NDJSON import and the webhooks write the same records.

Decisions worth knowing (docs/store-platforms.md has the operator's version):

* The activation ping is a form-encoded `webhook_id=N` with no signature (Woo sends it before
  the secret is in use). It is answered 200 and stores nothing, so it needs no signature.
* De-duplication: the delivery id Woo sends changes on every retry, so a delivery is known by the
  resource, its id, `date_modified_gmt` and a digest of the body. Woo's modification time has
  one-second resolution: two different states saved within the same second differ in the digest
  and are both processed (the later delivery wins, as equal timestamps re-apply), while a true
  repeat is identical and is skipped.
* `date_*_gmt` fields are UTC without an offset; the offset is added. `date_modified_gmt` orders
  the deliveries (newest wins); a customer never modified has none, and its creation time is used.
* Guests (`customer_id` 0): the order has no customer; its name and email come from `billing`.
* Refunds arrive as order.updated with `refunds: [{"id", "total": "-10.00"}]`; their sum is the
  order's refunded total, which lowers the lifetime value.
* order.deleted (trash or permanent delete; the payload is just `{"id"}`) and an order saved with
  status `trash` remove the order (app/store/order_deletes.py); a delivery of an older state that
  arrives later is not applied. order.restored brings it back as the payload describes it.
* customer.deleted erases the person (app/store/erasures.py): deleting a WordPress account is the
  shop forgetting the person, and Ringcard must forget them too. Their orders stay, anonymised.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.integrations import deliveries
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
    required_id,
    section,
    signature_valid,
    unreadable,
    webhook_openapi,
)
from app.platforms.statuses import woocommerce_order_status
from app.store.customer_writes import apply_customers
from app.store.erasures import erase_customer
from app.store.models import Order
from app.store.order_deletes import delete_order, deleted_since, forget_deletion
from app.store.order_writes import apply_orders
from app.store.schemas import CustomerIn, OrderIn, OrderStatus, Outcome, WriteResult
from app.store.write_transactions import customer_key, lock_records, order_key, run_write
from app.web.auth import SettingsDep

__all__ = ["WooOrder", "map_customer", "map_order", "ping_webhook_id", "router"]

PLATFORM = "woocommerce"
log = logging.getLogger("ringcard.store.woocommerce")
router = APIRouter(tags=["store platforms"])

_PING = re.compile(rb"webhook_id=(\d{1,20})")
_UPSERT_EVENTS = frozenset({"created", "updated", "restored"})


def ping_webhook_id(body: bytes) -> str | None:
    """The N of an activation ping (`webhook_id=N`, form-encoded), else None."""
    match = _PING.fullmatch(body.strip())
    return match.group(1).decode() if match else None


# --- payload mapping (pure) ----------------------------------------------------------------------


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


def _quantity(line: dict[str, Any]) -> int:
    value = line.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), 1_000_000)


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
        "phones": [
            {"number": number, "kind": kind}
            for kind, raw in (("billing", billing.get("phone")), ("shipping", shipping.get("phone")))
            if (number := _text(raw, 64))
        ],
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
        "phones": [
            {"number": number, "kind": kind}
            for kind, raw in (("billing", billing.get("phone")), ("shipping", shipping.get("phone")))
            if (number := _text(raw, 64))
        ],
        "items": [
            {"title": title, "quantity": _quantity(line)}
            for line in items_of(payload, "line_items")
            if (title := _text(line.get("name"), 500))
        ],
    }
    return WooOrder(external_id=external_id, order=build(OrderIn, record), updated_at=updated_at)


# --- applying ------------------------------------------------------------------------------------


def _written(outcomes: list[Outcome]) -> list[WriteResult]:
    return [WriteResult(**outcome._asdict()) for outcome in outcomes]


def _outcome(results: list[WriteResult]) -> DeliveryOutcome:
    return "applied" if any(r.applied for r in results) else (results[0].reason or "stale")


def _answer(
    topic: str, outcome: DeliveryOutcome, note: str | None = None, results: list[WriteResult] | None = None
) -> WebhookAnswer:
    log.info("woocommerce %s: %s", topic, outcome)
    return WebhookAnswer(topic=topic, outcome=outcome, note=note, results=results or [])


async def _apply_order(
    session: AsyncSession, topic: str, mapped: WooOrder, region: str, now: datetime
) -> WebhookAnswer:
    ext = mapped.external_id
    if topic == "order.restored":
        # The shop took it out of the trash: whatever the payload's time, it exists again.
        await forget_deletion(session, ext)
    else:
        deleted = (await deleted_since(session, [ext])).get(ext)
        if deleted is not None and mapped.updated_at <= deleted:
            return _answer(topic, "stale", f"order {ext} was deleted; this older state is not applied")
    if mapped.order is None:
        stored = await session.scalar(select(Order.updated_at).where(Order.external_id == ext))
        if stored is not None and mapped.updated_at < stored:
            return _answer(topic, "stale", f"order {ext} changed after it was trashed")
        await delete_order(session, ext, now)
        return _answer(topic, "deleted", f"order {ext} is in the trash")
    # apply_orders keeps an erased customer's person out of a late state of the order.
    results = _written(await apply_orders(session, [(ext, mapped.order)], region=region, now=now))
    return _answer(topic, _outcome(results), None, results)


async def _dispatch(
    session: AsyncSession, topic: str, payload: dict[str, Any], digest: str, region: str, now: datetime
) -> WebhookAnswer:
    resource, _, event = topic.partition(".")
    if resource not in ("order", "customer") or event not in (*_UPSERT_EVENTS, "deleted"):
        return _answer(topic, "ignored", f"topic {topic} is not used by Ringcard")
    ext = required_id(payload)
    if event == "deleted":
        # Deleting is idempotent and the payload is only {"id"}: nothing to de-duplicate on.
        if resource == "order":
            existed = await delete_order(session, ext, now)
            note = None if existed else f"order {ext} was not stored"
            return _answer(topic, "deleted" if existed else "ignored", note)
        await erase_customer(session, ext, now)
        return _answer(topic, "erased", "a deleted customer account is erased")
    # Mapped before the delivery is recorded: a payload we cannot read records nothing.
    if resource == "order":
        order = map_order(payload)
        owner = order.order.customer_external_id if order.order is not None else None
        await lock_records(session, [order_key(ext), *([customer_key(owner)] if owner else [])])
        if not await _first(session, topic, ext, order.updated_at, digest, now):
            return _answer(topic, "duplicate", f"order {ext} in this state was already processed")
        return await _apply_order(session, topic, order, region, now)
    customer = map_customer(payload)
    if not await _first(session, topic, ext, customer[1].updated_at, digest, now):
        return _answer(topic, "duplicate", f"customer {ext} in this state was already processed")
    results = _written(await apply_customers(session, [customer], region=region, now=now))
    return _answer(topic, _outcome(results), None, results)


async def _first(
    session: AsyncSession, topic: str, ext: str, modified: datetime, digest: str, now: datetime
) -> bool:
    """Record the delivery; True when it is new. A restore may repeat the very state delivered
    before the trash, so it counts as a delivery of its own."""
    kind = topic if topic.endswith(".restored") else topic.partition(".")[0]
    return await first_delivery(session, PLATFORM, f"{kind}:{ext}:{modified.isoformat()}:{digest}", now)


@router.post(
    "/webhooks/woocommerce",
    response_model=WebhookAnswer,
    summary="WooCommerce: a webhook delivery (orders, refunds, customers; the activation ping)",
    openapi_extra=webhook_openapi(
        "A WooCommerce webhook payload (X-WC-Webhook-Topic order.* or customer.*); "
        "X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body with "
        "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET. The activation ping `webhook_id=N` is form-encoded "
        "and answers 200 unsigned.",
        signature="woocommerceSignature",
        headers={"X-WC-Webhook-Topic": "the topic, e.g. order.updated (required)"},
    ),
    responses=WEBHOOK_RESPONSES,
)
async def woocommerce_webhook(request: Request, settings: SettingsDep) -> WebhookAnswer:
    """Orders (refunds included) and customers, created/updated/deleted/restored."""
    secret = settings.woocommerce_webhook_secret
    if not secret:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "WooCommerce webhooks are switched off: set RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET",
        )
    body = await read_body(request)
    if (webhook_id := ping_webhook_id(body)) is not None:
        deliveries.note_what("ping")
        return _answer("ping", "ignored", f"webhook {webhook_id} may deliver here")
    if not signature_valid(secret, body, request.headers.get("x-wc-webhook-signature")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "X-WC-Webhook-Signature is missing or is not this body's HMAC-SHA256 "
            "with RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET",
        )
    topic = (request.headers.get("x-wc-webhook-topic") or "").strip().lower()
    if not topic:
        raise unreadable(PayloadError("X-WC-Webhook-Topic", "is missing"), "header")
    deliveries.note_what(topic)
    digest = hashlib.sha256(body).hexdigest()[:16]

    async def handle(session: AsyncSession) -> WebhookAnswer:
        now = utcnow()
        answer = await _dispatch(session, topic, json_object(body), digest, settings.default_region, now)
        await forget_old_deliveries(session, now)
        return answer

    try:
        answer = await run_write(request.app.state.sessionmaker, handle)
    except PayloadError as exc:
        raise unreadable(exc) from None
    except IntegrityError:
        # Two deliveries raced to create the same record; Woo retries this one, which then
        # finds the record and updates it.
        raise HTTPException(
            status.HTTP_409_CONFLICT, "a concurrent delivery wrote the same record; retry"
        ) from None
    if answer.outcome == "duplicate":
        deliveries.note_duplicate()
    return answer
