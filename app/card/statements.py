"""The two statements a card about one person takes after the match: their top orders, and their
open cases with lifetime value and recent calls. Built once per shape and reused with bound values
(see matching.match_statement)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BigInteger, BindParameter, String, bindparam, literal, null, select, text, union_all

from app.calls.models import Call
from app.store.models import OPEN_ORDERS_PREDICATE, Case, CustomerLifetimeValue, Order
from app.store.schemas import CLOSED_ORDER_STATUSES, OPEN_CASE_STATUSES, OrderStatus

CARD_ORDERS = 5
CARD_CASES = 20
RECENT_CALLS = 5
OPEN_ORDER_STATUSES = tuple(s.value for s in OrderStatus if s not in CLOSED_ORDER_STATUSES)
ORDER_COLUMNS = (
    Order.id,
    Order.external_id,
    Order.number,
    Order.status,
    Order.financial_status,
    Order.fulfillment_status,
    Order.total_units,
    Order.refunded_units,
    Order.currency,
    Order.placed_at,
    Order.shipped_at,
    Order.delivered_at,
    Order.expected_delivery_at,
    Order.tracking_url,
    Order.items,
    Order.origin,
)


@functools.cache
def orders_statement(guest: bool) -> Any:
    """Built once per shape and reused with bound values (see matching.match_statement)."""
    if guest:
        return (
            select(*ORDER_COLUMNS)
            .where(Order.id.in_(bindparam("order_ids", expanding=True)))
            .order_by(Order.placed_at.desc())
        )
    customer: BindParameter[int] = bindparam("customer_id", type_=BigInteger())
    # Two index walks, each bounded by the limit: open orders (partial index) and the newest.
    open_orders = (
        select(*ORDER_COLUMNS)
        # The same literal text as the partial index's predicate, so the planner can prove it
        # applies even for a prepared (generic) plan; bound parameters would hide that.
        .where(Order.customer_id == customer, text(OPEN_ORDERS_PREDICATE))
        .order_by(Order.placed_at.desc())
        .limit(CARD_ORDERS)
    )
    newest = (
        select(*ORDER_COLUMNS)
        .where(Order.customer_id == customer)
        .order_by(Order.placed_at.desc())
        .limit(CARD_ORDERS)
    )
    return union_all(open_orders.subquery().select(), newest.subquery().select())


@functools.cache
def cases_and_value_statement(guest: bool) -> Any:
    open_statuses = [s.value for s in OPEN_CASE_STATUSES]
    owner = (
        Case.order_id.in_(bindparam("order_ids", expanding=True))
        if guest
        else Case.customer_id == bindparam("customer_id")
    )
    cases = (
        select(
            literal("case").label("row"),
            Case.external_id.label("a"),
            Case.kind.label("b"),
            Case.status.label("c"),
            Case.subject.label("d"),
            Case.opened_at.label("at"),
            Order.number.label("e"),
            null().cast(BigInteger).label("n"),
            Case.url.label("u"),
        )
        .outerjoin(Order, Order.id == Case.order_id)
        .where(owner, Case.status.in_(open_statuses))
        .order_by(Case.opened_at.desc())
        .limit(CARD_CASES)
    )
    members = [cases.subquery().select()]
    if not guest:
        recent_calls = (
            select(
                literal("call"),
                Call.state,
                Call.answered_by,
                Call.note,
                Call.disposition,
                Call.started_at,
                Call.noted_by,
                Call.talking_s.cast(BigInteger),
                null().cast(String),
            )
            .where(Call.customer_id == bindparam("customer_id"))
            .order_by(Call.started_at.desc())
            .limit(RECENT_CALLS)
        )
        members.append(recent_calls.subquery().select())
        members.append(
            select(
                literal("ltv"),
                CustomerLifetimeValue.currency,
                null().cast(String),
                null().cast(String),
                null().cast(String),
                null(),
                null().cast(String),
                CustomerLifetimeValue.amount_units,
                null().cast(String),
            ).where(CustomerLifetimeValue.customer_id == bindparam("customer_id"))
        )
    return union_all(*members)
