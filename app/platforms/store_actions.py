"""Handlers that every platform shares: what a delivery does to the store when it means the same
on any platform (a customer's whole state, an order the store deleted)."""

from __future__ import annotations

from app.platforms.answers import WebhookAnswer
from app.platforms.pipeline import Delivery
from app.store.customer_writes import apply_customers
from app.store.order_deletes import delete_order
from app.store.schemas import CustomerIn

__all__ = ["apply_customer", "delete_stored_order"]


async def apply_customer(delivery: Delivery, customer: tuple[str, CustomerIn]) -> WebhookAnswer:
    """A customer's whole state, as the customer writers apply every record (newest wins)."""
    outcomes = await apply_customers(
        delivery.session,
        [customer],
        delivery.target,
        now=delivery.now,
        origin=delivery.origin,
    )
    return delivery.answer_writes(outcomes)


async def delete_stored_order(delivery: Delivery, external_id: str) -> WebhookAnswer:
    """The store deleted the order (app/store/order_deletes.py): an older state delivered later is
    not applied. Deleting is idempotent."""
    existed = await delete_order(delivery.session, delivery.store, external_id, delivery.now)
    if existed:
        return delivery.answer("deleted")
    return delivery.answer("ignored", f"order {external_id} was not stored")
