"""Erasure of a customer's personal data (docs/api.md §2 DELETE, Shopify customers/redact)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.calls.models import Call
from app.db import Base, UTCDateTime, table_of, upsert_insert
from app.store.models import Case, Customer, CustomerLifetimeValue, Order, Phone
from app.store.write_transactions import customer_key, lock_records


class Erasure(Base):
    """A tombstone: a late or retried write older than the erasure must not bring the person back."""

    __tablename__ = "erasures"

    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


async def erase_customer(session: AsyncSession, external_id: str, now: datetime) -> bool:
    """Remove the customer, their phones, cases and call notes; keep their orders for the store's
    totals but strip everything that identifies a person. Returns whether anything was stored.
    Every writer of this customer's records holds the customer's key: the tombstone and the
    erasure are one step for all of them."""
    await lock_records(session, [customer_key(external_id)])
    ins = upsert_insert(session, table_of(Erasure))
    await session.execute(
        ins.values(external_id=external_id, erased_at=now).on_conflict_do_update(
            index_elements=["external_id"], set_={"erased_at": now}
        )
    )
    customer_id = await session.scalar(select(Customer.id).where(Customer.external_id == external_id))
    order_filter = Order.customer_external_id == external_id
    if customer_id is not None:
        order_filter = order_filter | (Order.customer_id == customer_id)
    order_ids = select(Order.id).where(order_filter).scalar_subquery()
    await session.execute(delete(Phone).where(Phone.order_id.in_(order_ids)))
    await session.execute(
        update(Order)
        .where(order_filter)
        .values(
            customer_id=None,
            customer_external_id=None,
            name=None,
            email=None,
            city=None,
            tracking_url=None,
        )
        .execution_options(synchronize_session=False)
    )
    if customer_id is None:
        return False
    # Their calls stay in the log as calls (the store's call statistics), but without the number,
    # the name, the notes or the card that identified them.
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
    # Phones, lifetime values and cases go with the customer (ON DELETE CASCADE), but SQLite only
    # cascades with foreign keys on, so delete them explicitly as well.
    await session.execute(delete(Phone).where(Phone.customer_id == customer_id))
    await session.execute(delete(Case).where(Case.customer_id == customer_id))
    await session.execute(
        delete(CustomerLifetimeValue).where(CustomerLifetimeValue.customer_id == customer_id)
    )
    await session.execute(delete(Customer).where(Customer.id == customer_id))
    return True


async def erased_since(session: AsyncSession, external_ids: list[str]) -> dict[str, datetime]:
    rows = await session.execute(
        select(Erasure.external_id, Erasure.erased_at).where(Erasure.external_id.in_(external_ids))
    )
    return {ext: at for ext, at in rows.all()}
