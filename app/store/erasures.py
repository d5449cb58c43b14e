"""Erasure of a customer's personal data (docs/api.md §2 DELETE; Shopify customers/delete and
customers/redact; WooCommerce customer.deleted), and what an anonymised order still keeps.

An erased person's orders stay, for the store's totals, but without anything that identifies the
person: PERSONAL_ORDER_FIELDS, the order's phones and the customer link. That list is written
here once; the writers that must not bring the person back (order_writes) read it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.db import table_of, upsert_insert
from app.store.models import Case, Customer, CustomerLifetimeValue, Erasure, Order, Phone
from app.store.schemas import OrderIn
from app.store.write_transactions import customer_key, lock_records, order_key
from app.summaries.models import AiJob, CallSummary, TranscriptPart

__all__ = [
    "PERSONAL_ORDER_FIELDS",
    "anonymise_orders",
    "erase_customer",
    "erased_since",
    "without_personal_data",
]

# The columns of an order (and fields of an OrderIn) that identify a person.
PERSONAL_ORDER_FIELDS: Final = ("name", "email", "city", "tracking_url")
_UNLINKED: Final = {"customer_id": None, "customer_external_id": None}


def without_personal_data(record: OrderIn) -> OrderIn:
    """The order as it may be kept once its customer was erased: its totals, nothing that
    identifies the person (what erase_customer leaves of the orders it finds)."""
    return record.model_copy(
        update={"customer_external_id": None, "phones": [], **dict.fromkeys(PERSONAL_ORDER_FIELDS)}
    )


async def _strip_orders(session: AsyncSession, which: ColumnElement[bool], *, unlink: bool) -> None:
    values: dict[str, Any] = {**dict.fromkeys(PERSONAL_ORDER_FIELDS), **(_UNLINKED if unlink else {})}
    order_ids = select(Order.id).where(which).scalar_subquery()
    await session.execute(delete(Phone).where(Phone.order_id.in_(order_ids)))
    await session.execute(
        update(Order).where(which).values(values).execution_options(synchronize_session=False)
    )


async def anonymise_orders(session: AsyncSession, store: str, external_ids: Sequence[str]) -> None:
    """Strip what identifies a person from these orders of `store` (Shopify's orders_to_redact:
    guest checkouts of the person, not linked to any customer), keeping them for the store's totals."""
    if not external_ids:
        return
    await lock_records(session, [order_key(store, ext) for ext in external_ids])
    await _strip_orders(
        session, (Order.store_id == store) & Order.external_id.in_(external_ids), unlink=False
    )


async def erase_customer(session: AsyncSession, store: str, external_id: str, now: datetime) -> bool:
    """Remove `store`'s customer (the same person in another store is that store's to erase),
    their phones, cases and call notes; keep their orders for the store's
    totals but strip everything that identifies a person. Returns whether anything was stored.
    Every writer of this customer's records holds the customer's key: the tombstone and the
    erasure are one step for all of them."""
    await lock_records(session, [customer_key(store, external_id)])
    ins = upsert_insert(session, table_of(Erasure))
    await session.execute(
        ins.values(store_id=store, external_id=external_id, erased_at=now).on_conflict_do_update(
            index_elements=["store_id", "external_id"], set_={"erased_at": now}
        )
    )
    customer_id = await session.scalar(
        select(Customer.id).where(Customer.store_id == store, Customer.external_id == external_id)
    )
    order_filter = (Order.store_id == store) & (Order.customer_external_id == external_id)
    if customer_id is not None:
        order_filter = order_filter | (Order.customer_id == customer_id)
    await _strip_orders(session, order_filter, unlink=True)
    if customer_id is None:
        return False
    # Their calls stay in the log as calls (the store's call statistics), but without the number,
    # the name, the notes, the card, the transcripts or the summaries that identified them. The
    # calls' rows are locked first: a transcript or a summary being written for one of them
    # (app/summaries) either commits before and goes here, or finds the caller erased and stops.
    their_calls = select(Call.id).where(Call.customer_id == customer_id).with_for_update()
    call_ids = list((await session.scalars(their_calls)).all())
    await session.execute(
        update(Call)
        .where(Call.customer_id == customer_id)
        .values(
            from_raw="erased",
            from_e164=None,
            customer_id=None,
            customer_external_id=None,
            customer_name=None,
            note=None,
            card_json=None,
        )
        .execution_options(synchronize_session=False)
    )
    if call_ids:
        for model in (TranscriptPart, CallSummary, AiJob):
            await session.execute(
                delete(model).where(model.call_id.in_(call_ids)).execution_options(synchronize_session=False)
            )
    # Phones, lifetime values and cases go with the customer (ON DELETE CASCADE), but SQLite only
    # cascades with foreign keys on, so delete them explicitly as well.
    await session.execute(delete(Phone).where(Phone.customer_id == customer_id))
    await session.execute(delete(Case).where(Case.customer_id == customer_id))
    await session.execute(
        delete(CustomerLifetimeValue).where(CustomerLifetimeValue.customer_id == customer_id)
    )
    await session.execute(delete(Customer).where(Customer.id == customer_id))
    return True


async def erased_since(session: AsyncSession, store: str, external_ids: list[str]) -> dict[str, datetime]:
    rows = await session.execute(
        select(Erasure.external_id, Erasure.erased_at).where(
            Erasure.store_id == store, Erasure.external_id.in_(external_ids)
        )
    )
    return {ext: at for ext, at in rows.all()}
