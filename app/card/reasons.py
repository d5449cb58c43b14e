"""Why is this customer probably calling? Rules in a fixed order of precedence (issue #4):
open complaint → return in progress → exchange in progress → payment problem on a recent order →
where is my order → a just-placed order (change or cancel) → nothing to guess."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.card.contracts import LikelyReason, ReasonCode
from app.card.views import CaseView, OrderView

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


def _case_text(case: CaseView, label: str) -> str:
    on_order = f" on order {case.order_number}" if case.order_number else ""
    return f"Probably about {label} {case.external_id}{on_order}"


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
            return {"code": code, "text": _case_text(case, label)}

    for order in orders:
        words = {(order.financial_status or "").lower(), order.status}
        recent = now - order.placed_at <= PAYMENT_PROBLEM_WINDOW
        if recent and words & PAYMENT_PROBLEM_WORDS:
            state = order.financial_status or order.status
            return {
                "code": ReasonCode.PAYMENT_PROBLEM,
                "text": f"Probably about the payment on order {order.number} ({state})",
            }

    for order in orders:
        if order.status != "shipped":
            continue
        shipped_at = order.shipped_at
        expected = order.expected_delivery_at
        overdue = expected is not None and expected < now
        late = shipped_at is not None and now - shipped_at > timedelta(days=rules.wismo_days)
        if overdue or late:
            since = f"shipped {_ago(now, shipped_at)}" if shipped_at else "expected delivery has passed"
            return {
                "code": ReasonCode.WHERE_IS_MY_ORDER,
                "text": f"Probably asking where order {order.number} is: {since}, not delivered",
            }

    for order in orders:
        placed = order.placed_at
        if order.status not in ("cancelled", "refunded", "failed") and now - placed <= timedelta(
            hours=rules.recent_order_hours
        ):
            return {
                "code": ReasonCode.RECENT_ORDER,
                "text": f"Probably about order {order.number} placed {_ago(now, placed)}: change or cancel",
            }
    return {"code": None, "text": None}
