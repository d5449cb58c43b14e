"""Shopify's returns/* payloads as cases (pure, like mapping.py).

A return becomes a case of kind `exchange` when it carries exchange line items, `return`
otherwise. The topics send different parts of a return (returns/update only what changed;
returns/close, cancel and reopen only the status; returns/process `{}`): what a payload leaves
out is None, meaning "keep what is stored". The subject names Shopify's reason codes, never the
customer's own notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.platforms.payloads import items_of, optional_text, quantity, required_id
from app.platforms.shopify.mapping import nested_id
from app.platforms.statuses import shopify_return_status
from app.store.schemas import CaseKind, CaseStatus

__all__ = ["ShopifyReturn", "map_return", "return_id"]


@dataclass(frozen=True, slots=True)
class ShopifyReturn:
    external_id: str
    order_external_id: str | None
    kind: CaseKind | None
    status: CaseStatus | None
    subject: str | None


def _return_lines(payload: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A return's line items, or None when the payload does not list them. returns/update sends
    only what changed (`{"removals": [...]}` instead of the list), which says nothing about the
    return's kind or subject."""
    value = payload.get("return_line_items")
    if isinstance(value, dict):
        return None
    return items_of(payload, "return_line_items") if "return_line_items" in payload else None


def _return_subject(payload: dict[str, Any], lines: list[dict[str, Any]], kind: CaseKind) -> str:
    """The case's subject, such as `Return #1042-R1: 2 items (size too small, wrong item)`."""
    count = sum(quantity(line) for line in lines)
    # Shopify's reason codes only (wrong_item, size_too_small, ...): the customer's own notes are
    # free text that may hold personal data, and the card does not need them to route a call.
    reasons = sorted(
        {r.replace("_", " ") for line in lines if (r := optional_text(line.get("return_reason"), 64))}
    )
    label = "Exchange" if kind is CaseKind.EXCHANGE else "Return"
    name = optional_text(payload.get("name"), 64)
    subject = f"{label} {name}" if name else label
    if count:
        subject += f": {count} item{'s' if count != 1 else ''}"
    if reasons:
        subject += f" ({', '.join(reasons)})"
    return subject


def _gid_tail(value: Any, kind: str) -> str | None:
    """The numeric id inside an Admin API global id (`gid://shopify/Return/945000954`)."""
    text = optional_text(value)
    prefix = f"gid://shopify/{kind}/"
    if text is None or not text.startswith(prefix):
        return None
    tail = text[len(prefix) :].split("?", 1)[0]
    return tail if tail.isdigit() and tail.strip("0") else None


def return_id(payload: dict[str, Any]) -> str | None:
    """The return's id: `id`, or (returns/update carries no `id`) the tail of its global id."""
    if payload.get("id") is not None:
        return required_id(payload)
    return _gid_tail(payload.get("admin_graphql_api_id"), "Return")


def map_return(payload: dict[str, Any], topic: str) -> ShopifyReturn | None:
    """A returns/* payload, or None when it names no return (returns/process arrives as `{}`).
    Fields a topic leaves out (returns/update sends only what changed; returns/close, cancel and
    reopen only the status) come back as None, meaning "keep what is stored"."""
    external_id = return_id(payload)
    if external_id is None:
        return None
    exchanges = payload.get("exchange_line_items")
    exchange_lines = items_of(payload, "exchange_line_items") if isinstance(exchanges, list) else []
    exchange_count = payload.get("total_exchange_line_items")
    lines = _return_lines(payload)
    kind: CaseKind | None = None
    if exchange_lines or (isinstance(exchange_count, int) and exchange_count > 0):
        kind = CaseKind.EXCHANGE
    elif lines is not None or isinstance(exchanges, list):
        kind = CaseKind.RETURN
    order_id = nested_id(payload, "order")
    if order_id is None and payload.get("order_id") is not None:
        # returns/close, cancel and reopen name the order at the top level.
        order_id = required_id(payload, "order_id")
    return ShopifyReturn(
        external_id=external_id,
        order_external_id=order_id,
        kind=kind,
        status=shopify_return_status(optional_text(payload.get("status"), 32), topic),
        subject=_return_subject(payload, lines or [], kind) if kind is not None else None,
    )
