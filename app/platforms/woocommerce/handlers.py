"""What each WooCommerce topic does to the store, and the table from topic to handling.

WooCommerce disables a webhook after more than five consecutive failed deliveries, so every body
we understand is answered 200, topics we do not use included. The payload is the resource's state
when Woo sent it. docs/store-platforms.md has the operator's version of these decisions:

* De-duplication: the delivery id Woo sends changes on every retry, so a delivery is known by the
  resource, its id, `date_modified_gmt` and a digest of the body. Woo's modification time has
  one-second resolution: two different states saved within the same second differ in the digest
  and are both processed (the later delivery wins, as equal timestamps re-apply), while a true
  repeat is identical and is skipped.
* order.deleted (trash or permanent delete; the payload is just `{"id"}`) and an order saved with
  status `trash` remove the order (app/store/order_deletes.py); a delivery of an older state that
  arrives later is not applied. order.restored brings it back as the payload describes it.
* customer.deleted erases the person (app/store/erasures.py): deleting a WordPress account is the
  shop forgetting the person, and Ringcard must forget them too. Their orders stay, anonymised.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from app.platforms.answers import WebhookAnswer
from app.platforms.payloads import required_id
from app.platforms.pipeline import Delivery, DeliveryKey, Topic
from app.platforms.store_actions import apply_customer, delete_stored_order
from app.platforms.woocommerce.mapping import WooOrder, map_customer, map_order
from app.store.erasures import erase_customer
from app.store.models import Order
from app.store.order_deletes import delete_order, deleted_since, forget_deletion
from app.store.order_writes import apply_orders
from app.store.schemas import CustomerIn
from app.store.write_transactions import customer_key, lock_records, order_key

__all__ = ["TOPICS", "delivery_key"]

log = logging.getLogger("ringcard.store.woocommerce")


def _version(mapped: WooOrder | tuple[str, CustomerIn]) -> tuple[str, datetime]:
    if isinstance(mapped, WooOrder):
        return mapped.external_id, mapped.updated_at
    return mapped[0], mapped[1].updated_at


def delivery_key(delivery: Delivery, mapped: WooOrder | tuple[str, CustomerIn]) -> DeliveryKey:
    """The resource in this state (see the module's docstring). A restore may repeat the very
    state delivered before the trash, so it counts as a delivery of its own."""
    resource = delivery.topic.partition(".")[0]
    kind = delivery.topic if delivery.topic.endswith(".restored") else resource
    ext, modified = _version(mapped)
    digest = hashlib.sha256(delivery.body).hexdigest()[:16]
    return DeliveryKey(f"{kind}:{ext}:{modified.isoformat()}:{digest}", f"{resource} {ext} in this state")


async def _hold_order(d: Delivery, mapped: WooOrder) -> None:
    owner = mapped.order.customer_external_id if mapped.order is not None else None
    await lock_records(
        d.session,
        [order_key(d.store, mapped.external_id), *([customer_key(d.store, owner)] if owner else [])],
    )


async def _apply_order(d: Delivery, mapped: WooOrder) -> WebhookAnswer:
    ext = mapped.external_id
    if d.topic == "order.restored":
        # The shop took it out of the trash: whatever the payload's time, it exists again.
        await forget_deletion(d.session, d.store, ext)
    else:
        deleted = (await deleted_since(d.session, d.store, [ext])).get(ext)
        if deleted is not None and mapped.updated_at <= deleted:
            return d.answer("stale", f"order {ext} was deleted; this older state is not applied")
    if mapped.order is None:
        stored = await d.session.scalar(
            select(Order.updated_at).where(Order.store_id == d.store, Order.external_id == ext)
        )
        if stored is not None and mapped.updated_at < stored:
            return d.answer("stale", f"order {ext} changed after it was trashed")
        await delete_order(d.session, d.store, ext, d.now)
        return d.answer("deleted", f"order {ext} is in the trash")
    # apply_orders keeps an erased customer's person out of a late state of the order.
    return d.answer_writes(
        await apply_orders(d.session, [(ext, mapped.order)], d.target, now=d.now, origin=d.origin)
    )


async def _erase_deleted(d: Delivery, external_id: str) -> WebhookAnswer:
    await erase_customer(d.session, d.store, external_id, d.now)
    return d.answer("erased", "a deleted customer account is erased")


# Mapped before the delivery is recorded: a payload we cannot read records nothing.
_ORDER = Topic(read=lambda p, _: map_order(p), hold=_hold_order, act=_apply_order)
_CUSTOMER = Topic(read=lambda p, _: map_customer(p), act=apply_customer)

TOPICS: Mapping[str, Topic[Any]] = MappingProxyType(
    {
        **{f"order.{event}": _ORDER for event in ("created", "updated", "restored")},
        **{f"customer.{event}": _CUSTOMER for event in ("created", "updated", "restored")},
        # Deleting is idempotent and the payload is only {"id"}: nothing to de-duplicate on.
        "order.deleted": Topic(read=lambda p, _: required_id(p), act=delete_stored_order, deduplicated=False),
        "customer.deleted": Topic(read=lambda p, _: required_id(p), act=_erase_deleted, deduplicated=False),
    }
)
