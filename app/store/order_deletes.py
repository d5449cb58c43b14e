"""Deleting an order the store deleted (Shopify orders/delete, WooCommerce order.deleted).

The order leaves with its phones; its customer's aggregates (orders count, lifetime value,
first/last order) are corrected by the same deltas every order write uses. Cases that named the
order keep its external id, so they are linked again if the order comes back (a WooCommerce
order restored from the trash). A tombstone remembers when the order went, so a delivery of an
older state that arrives after the delete (platforms deliver out of order) cannot resurrect it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of, upsert_insert
from app.store.aggregates import CONTRIBUTION_COLUMNS, AggregateDeltas, OrderContribution
from app.store.models import Case, Order, OrderDeletion, Phone
from app.store.write_transactions import lock_order_and_owner

__all__ = ["delete_order", "deleted_since", "forget_deletion"]


async def delete_order(session: AsyncSession, store: str, external_id: str, now: datetime) -> bool:
    """Remove the order, its phones and its share of the customer's aggregates. Returns whether
    the order was stored; deleting an unknown order still leaves the tombstone, because the delete
    may have overtaken the order's own creation."""
    await lock_order_and_owner(session, store, external_id)
    ins = upsert_insert(session, table_of(OrderDeletion))
    await session.execute(
        ins.values(store_id=store, external_id=external_id, deleted_at=now).on_conflict_do_update(
            index_elements=["store_id", "external_id"], set_={"deleted_at": now}
        )
    )
    row = (
        await session.execute(
            select(Order.id, *CONTRIBUTION_COLUMNS).where(
                Order.store_id == store, Order.external_id == external_id
            )
        )
    ).first()
    if row is None:
        return False
    deltas = AggregateDeltas()
    deltas.order_changed(OrderContribution.of_stored(row), None)
    # Phones and the cases' link go with the order through the foreign keys on PostgreSQL, but
    # SQLite only enforces them with the pragma on, so do both explicitly, as erasures do.
    await session.execute(delete(Phone).where(Phone.order_id == row.id))
    await session.execute(
        update(Case)
        .where(Case.order_id == row.id)
        .values(order_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Order).where(Order.id == row.id))
    # After the delete, so that first/last order are read again without this order.
    await deltas.apply(session)
    return True


async def deleted_since(
    session: AsyncSession, store: str, external_ids: Iterable[str]
) -> dict[str, datetime]:
    """When each of these orders of `store` was last deleted (only those that were)."""
    ids = list(external_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(OrderDeletion.external_id, OrderDeletion.deleted_at).where(
            OrderDeletion.store_id == store, OrderDeletion.external_id.in_(ids)
        )
    )
    return {ext: at for ext, at in rows.all()}


async def forget_deletion(session: AsyncSession, store: str, external_id: str) -> None:
    """The store brought the order back (WooCommerce order.restored): its next state applies even
    when the platform did not move its modification time forward."""
    await session.execute(
        delete(OrderDeletion).where(OrderDeletion.store_id == store, OrderDeletion.external_id == external_id)
    )
