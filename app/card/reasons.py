"""Why is this customer probably calling? Rules in a fixed order of precedence (issue #4):
open complaint → return in progress → exchange in progress → payment problem on a recent order →
where is my order → a just-placed order (change or cancel) → nothing to guess.

Each reason is a code with its parameters (docs/api.md#the-card): the console writes the sentence
in the agent's language from them. `text` is the same sentence in English, kept for API clients
that show it as it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.card.contracts import (
    CaseReasonParams,
    LikelyReason,
    PaymentReasonParams,
    ReasonCode,
    RecentOrderParams,
    WhereIsMyOrderParams,
)
from app.card.views import CaseView, OrderView, iso

# A voided authorisation belongs to a cancelled order, not to a payment that went wrong.
PAYMENT_PROBLEM_WORDS = frozenset({"failed", "declined", "payment_failed", "expired"})
PAYMENT_PROBLEM_WINDOW = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class ReasonSettings:
    wismo_days: int
    recent_order_hours: int


def _ago(now: datetime, then: datetime) -> str:
    delta = now - then
    if delta < timedelta(hours=1):
        return f"{max(int(delta.total_seconds() // 60), 1)} min ago"
    if delta < timedelta(days=2):
        return f"{int(delta.total_seconds() // 3600)} h ago"
    return f"{delta.days} days ago"


def _case_reason(case: CaseView, code: ReasonCode, label: str) -> LikelyReason:
    on_order = f" on order {case.order_number}" if case.order_number else ""
    params: CaseReasonParams = {"case_id": case.external_id, "order_number": case.order_number}
    return {"code": code, "text": f"Probably about {label} {case.external_id}{on_order}", "params": params}


def _payment_reason(order: OrderView) -> LikelyReason:
    state = order.financial_status or order.status
    params: PaymentReasonParams = {"order_number": order.number, "state": state}
    return {
        "code": ReasonCode.PAYMENT_PROBLEM,
        "text": f"Probably about the payment on order {order.number} ({state})",
        "params": params,
    }


def _wismo_reason(order: OrderView, now: datetime) -> LikelyReason:
    shipped_at = order.shipped_at
    since = f"shipped {_ago(now, shipped_at)}" if shipped_at else "expected delivery has passed"
    params: WhereIsMyOrderParams = {
        "order_number": order.number,
        "shipped_at": iso(shipped_at),
        # Whole days, as the English text counts them (8 days and 5 hours is 8 days).
        "days_since_shipped": (now - shipped_at).days if shipped_at else None,
        "expected_delivery_at": iso(order.expected_delivery_at),
    }
    return {
        "code": ReasonCode.WHERE_IS_MY_ORDER,
        "text": f"Probably asking where order {order.number} is: {since}, not delivered",
        "params": params,
    }


def _recent_order_reason(order: OrderView, now: datetime) -> LikelyReason:
    placed = order.placed_at
    params: RecentOrderParams = {
        "order_number": order.number,
        "placed_at": placed.isoformat(),
        "hours_since_placed": int((now - placed).total_seconds() // 3600),
    }
    return {
        "code": ReasonCode.RECENT_ORDER,
        "text": f"Probably about order {order.number} placed {_ago(now, placed)}: change or cancel",
        "params": params,
    }


def likely_reason(
    orders: list[OrderView], open_cases: list[CaseView], now: datetime, rules: ReasonSettings
) -> LikelyReason:
    for kind, code, label in (
        ("complaint", ReasonCode.OPEN_COMPLAINT, "complaint"),
        ("return", ReasonCode.RETURN_IN_PROGRESS, "return"),
        ("exchange", ReasonCode.EXCHANGE_IN_PROGRESS, "exchange"),
    ):
        case = next((c for c in open_cases if c.kind == kind), None)
        if case is not None:
            return _case_reason(case, code, label)

    for order in orders:
        words = {(order.financial_status or "").lower(), order.status}
        recent = now - order.placed_at <= PAYMENT_PROBLEM_WINDOW
        if recent and words & PAYMENT_PROBLEM_WORDS:
            return _payment_reason(order)

    for order in orders:
        if order.status != "shipped":
            continue
        shipped_at = order.shipped_at
        expected = order.expected_delivery_at
        overdue = expected is not None and expected < now
        late = shipped_at is not None and now - shipped_at > timedelta(days=rules.wismo_days)
        if overdue or late:
            return _wismo_reason(order, now)

    for order in orders:
        if order.status not in ("cancelled", "refunded", "failed") and now - order.placed_at <= timedelta(
            hours=rules.recent_order_hours
        ):
            return _recent_order_reason(order, now)
    return no_reason()


def no_reason() -> LikelyReason:
    """The reason of a card with nothing to guess (a new dict each time: cards are never shared
    for editing)."""
    return {"code": None, "text": None, "params": {}}
