"""Counting a refund that the order's stored state does not show yet (Shopify refunds/create).

The refund lowers the order's revenue, and with it the customer's lifetime value, through the
same deltas every order write uses. It also moves the order's updated_at to the refund, so that
an older state of the order delivered late cannot undo it; the state the platform sends after
the refund is newer still, applies, and counts the refund from the order's own list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.aggregates import CONTRIBUTION_COLUMNS, AggregateDeltas, OrderContribution
from app.store.models import Order

__all__ = ["add_refund", "order_to_refund"]


async def order_to_refund(session: AsyncSession, store: str, external_id: str) -> Row[Any] | None:
    """The stored order a refund is counted against (its `currency` says which of the refund's
    amounts count), or None when the order is not stored. The caller holds the order's and its
    customer's keys (write_transactions.lock_order_and_owner)."""
    query = select(Order.id, *CONTRIBUTION_COLUMNS, Order.updated_at).where(
        Order.store_id == store, Order.external_id == external_id
    )
    return (await session.execute(query)).first()


async def add_refund(session: AsyncSession, order: Row[Any], units: int, at: datetime, now: datetime) -> None:
    """Add `units` (the order's currency, in 1/10,000) to the refunds of `order`, refunded at `at`."""
    refunded = order.refunded_units + units
    deltas = AggregateDeltas()
    deltas.order_changed(
        OrderContribution.of_stored(order), OrderContribution.of_stored(order, refunded_units=refunded)
    )
    await session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_units=refunded, updated_at=max(order.updated_at, at), synced_at=now)
        .execution_options(synchronize_session=False)
    )
    await deltas.apply(session)
