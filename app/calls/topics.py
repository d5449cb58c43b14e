"""What a call was probably about, in the store's own terms, taken from the card it popped with:
the likely reason's code, the order it names (else the caller's latest), that order's products and
the caller's open case kinds. Kept as rows beside the call (`call_topics`) when the card is saved,
so the insights count them with one indexed join instead of reading every card again."""

from __future__ import annotations

from typing import Any, Final

REASON: Final = "reason"
ORDER: Final = "order"
PRODUCT: Final = "product"
CASE: Final = "case"
NO_REASON: Final = "none"
KEY_MAX = 128
LABEL_MAX = 255
PRODUCTS_MAX = 10


def _fit(value: object, limit: int) -> str:
    return str(value).strip()[:limit]


def topics_of(card: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, key, label) for each thing the call was about, each once."""
    found: dict[tuple[str, str], str] = {}
    reason = card.get("likely_reason") or {}
    code = reason.get("code") or NO_REASON
    found[(REASON, _fit(code, KEY_MAX))] = _fit(code, LABEL_MAX)
    orders = [order for order in card.get("orders") or [] if isinstance(order, dict)]
    named = (reason.get("params") or {}).get("order_number")
    order = next((o for o in orders if named and o.get("number") == named), orders[0] if orders else None)
    if order is not None and order.get("number"):
        number = _fit(order["number"], KEY_MAX)
        found[(ORDER, number)] = number
        for item in (order.get("items") or [])[:PRODUCTS_MAX]:
            if not isinstance(item, dict):
                continue
            title = item.get("name") or item.get("title")
            if not title:
                continue
            key = item.get("sku") or title
            found[(PRODUCT, _fit(key, KEY_MAX))] = _fit(title, LABEL_MAX)
    for case in card.get("open_cases") or []:
        if isinstance(case, dict) and case.get("kind"):
            kind = _fit(case["kind"], KEY_MAX)
            found[(CASE, kind)] = kind
    return [(kind, key, label) for (kind, key), label in found.items()]
