"""Per-customer aggregates (orders count, LTV per currency, returns count, first/last order) kept
current by deltas on every write, so the card never sums a customer's history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UTCDateTime, table_of, upsert_insert
from app.store.models import Case, Customer, CustomerLifetimeValue, Order
from app.store.schemas import NON_REVENUE_STATUSES, CaseKind

# What an order's contribution is read from: select these, then OrderContribution.of_stored.
CONTRIBUTION_COLUMNS = (
    Order.customer_id,
    Order.status,
    Order.currency,
    Order.total_units,
    Order.refunded_units,
    Order.placed_at,
)


@dataclass(slots=True)
class OrderContribution:
    """What one order adds to its customer's aggregates."""

    customer_id: int | None
    counted: bool
    currency: str
    revenue_units: int
    placed_at: datetime

    @classmethod
    def of(
        cls,
        customer_id: int | None,
        status: str,
        currency: str,
        total_units: int,
        refunded_units: int,
        placed_at: datetime,
    ) -> OrderContribution:
        revenue = 0 if status in NON_REVENUE_STATUSES else max(total_units - refunded_units, 0)
        return cls(customer_id, True, currency, revenue, placed_at)

    @classmethod
    def of_stored(cls, row: Any, *, refunded_units: int | None = None) -> OrderContribution:
        """The contribution of a stored order (a row carrying CONTRIBUTION_COLUMNS), or what it
        becomes once `refunded_units` replace the stored refunds."""
        refunded = row.refunded_units if refunded_units is None else refunded_units
        return cls.of(row.customer_id, row.status, row.currency, row.total_units, refunded, row.placed_at)


@dataclass(slots=True)
class _CustomerDelta:
    orders: int = 0
    returns: int = 0
    ltv: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    earliest: datetime | None = None
    latest: datetime | None = None
    # An order left this customer or moved in time: first/last must be read again.
    recompute_dates: bool = False


class AggregateDeltas:
    """Collects the changes of one batch of writes, then applies them in a few statements."""

    def __init__(self) -> None:
        self._by_customer: dict[int, _CustomerDelta] = defaultdict(_CustomerDelta)

    def order_changed(self, old: OrderContribution | None, new: OrderContribution | None) -> None:
        if old is not None and old.customer_id is not None:
            delta = self._by_customer[old.customer_id]
            delta.orders -= 1
            delta.ltv[old.currency] -= old.revenue_units
            moved = new is None or new.customer_id != old.customer_id or new.placed_at != old.placed_at
            delta.recompute_dates = delta.recompute_dates or moved
        if new is not None and new.customer_id is not None:
            delta = self._by_customer[new.customer_id]
            delta.orders += 1
            delta.ltv[new.currency] += new.revenue_units
            if delta.earliest is None or new.placed_at < delta.earliest:
                delta.earliest = new.placed_at
            if delta.latest is None or new.placed_at > delta.latest:
                delta.latest = new.placed_at

    def case_changed(self, old: tuple[int | None, str] | None, new: tuple[int | None, str] | None) -> None:
        """A case given as (customer_id, kind); returns are counted per customer."""
        if old is not None and old[0] is not None and old[1] == CaseKind.RETURN:
            self._by_customer[old[0]].returns -= 1
        if new is not None and new[0] is not None and new[1] == CaseKind.RETURN:
            self._by_customer[new[0]].returns += 1

    async def apply(self, session: AsyncSession) -> None:
        if not self._by_customer:
            return
        table = table_of(Customer)
        # Every customer's counts move by its deltas; those with new orders move their dates too.
        by_customer = update(table).where(table.c.id == bindparam("cid"))
        counted = {
            "orders_count": table.c.orders_count + bindparam("d_orders"),
            "returns_count": table.c.returns_count + bindparam("d_returns"),
        }
        counts = [
            {"cid": cid, "d_orders": d.orders, "d_returns": d.returns}
            for cid, d in self._by_customer.items()
            if (d.orders or d.returns) and d.earliest is None
        ]
        if counts:
            await session.execute(
                by_customer.values(counted),
                counts,
                execution_options={"synchronize_session": False},
            )
        dated = [
            {
                "cid": cid,
                "d_orders": d.orders,
                "d_returns": d.returns,
                "earliest": d.earliest,
                "latest": d.latest,
            }
            for cid, d in self._by_customer.items()
            if d.earliest is not None
        ]
        if dated:
            earliest = bindparam("earliest", type_=UTCDateTime())
            latest = bindparam("latest", type_=UTCDateTime())
            first, last = table.c.first_order_at, table.c.last_order_at
            await session.execute(
                by_customer.values(
                    **counted,
                    # The stored side carries the type, so PostgreSQL can infer the parameters'.
                    first_order_at=case((or_(first.is_(None), first > earliest), earliest), else_=first),
                    last_order_at=case((or_(last.is_(None), last < latest), latest), else_=last),
                ),
                dated,
                execution_options={"synchronize_session": False},
            )
        ltv_rows = [
            {"customer_id": cid, "currency": cur, "amount_units": units}
            for cid, d in self._by_customer.items()
            for cur, units in d.ltv.items()
            if units
        ]
        if ltv_rows:
            ins = upsert_insert(session, table_of(CustomerLifetimeValue))
            await session.execute(
                ins.on_conflict_do_update(
                    index_elements=["customer_id", "currency"],
                    set_={"amount_units": CustomerLifetimeValue.amount_units + ins.excluded.amount_units},
                ),
                ltv_rows,
            )
        stale_dates = [cid for cid, d in self._by_customer.items() if d.recompute_dates]
        if stale_dates:
            await recompute_order_dates(session, stale_dates)
        self._by_customer.clear()


async def recompute_order_dates(session: AsyncSession, customer_ids: list[int]) -> None:
    """First/last order through the (customer_id, placed_at) index: two index probes, no scan."""
    for cid in customer_ids:
        first = select(func.min(Order.placed_at)).where(Order.customer_id == cid).scalar_subquery()
        last = select(func.max(Order.placed_at)).where(Order.customer_id == cid).scalar_subquery()
        await session.execute(
            update(Customer).where(Customer.id == cid).values(first_order_at=first, last_order_at=last)
        )


async def recompute_customer(session: AsyncSession, customer_id: int) -> None:
    """Rebuild one customer's aggregates from scratch; used only when orders are first linked to a
    customer who arrived after them, so it runs once per customer, not per call."""
    orders = (
        await session.execute(
            select(
                Order.status, Order.currency, Order.total_units, Order.refunded_units, Order.placed_at
            ).where(Order.customer_id == customer_id)
        )
    ).all()
    deltas = AggregateDeltas()
    for status, currency, total, refunded, placed_at in orders:
        deltas.order_changed(
            None, OrderContribution.of(customer_id, status, currency, total, refunded, placed_at)
        )
    returns = await session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.customer_id == customer_id, Case.kind == CaseKind.RETURN)
    )
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(orders_count=0, returns_count=0, first_order_at=None, last_order_at=None)
    )
    await session.execute(
        table_of(CustomerLifetimeValue).delete().where(CustomerLifetimeValue.customer_id == customer_id)
    )
    for _ in range(returns or 0):
        deltas.case_changed(None, (customer_id, CaseKind.RETURN))
    await deltas.apply(session)
