"""How the store platforms' own statuses become the card's statuses: the one table of record.

The card speaks one vocabulary (docs/api.md §2): orders are `pending`, `processing`, `on_hold`,
`shipped`, `delivered`, `cancelled`, `refunded` or `failed`; cases are `open`, `in_progress`,
`resolved`, `rejected` or `closed`. The platform's own words are kept next to the mapped status
(`financial_status`/`fulfillment_status`) so an agent can still see exactly what the store says.
docs/store-platforms.md repeats these tables for operators; a test keeps the two in step.

Shopify orders — the first rule that matches wins:

| Shopify says | card status | why |
|---|---|---|
| `cancelled_at` is set | `cancelled` | the merchant cancelled the order, whatever the money did |
| `financial_status` `refunded` | `refunded` | all money went back |
| `financial_status` `voided` | `cancelled` | the authorisation was voided: no money will come |
| `financial_status` `expired` | `failed` | the authorisation lapsed uncaptured: the payment failed |
| `fulfilled`, and every live fulfillment's `shipment_status` is `delivered` | `delivered` | carrier says so |
| `fulfillment_status` `fulfilled` or `partial` | `shipped` | a parcel is on its way |
| `financial_status` `pending` | `pending` | awaiting payment (bank transfer, manual methods) |
| `financial_status` `partially_paid` | `on_hold` | a deposit was taken; the order waits for the balance |
| anything else (`authorized`, `paid`, `partially_refunded`, none) | `processing` | paid, not shipped |

"Live" fulfillments are those not `cancelled`, `error` or `failure`. `partial` (some items shipped)
counts as shipped: a parcel with tracking exists, and the word `partial` stays visible. A fulfilled
cash-on-delivery order is `shipped`/`delivered` even though its money is `pending`:
the agent is asked about the parcel, and the financial word is still shown.

WooCommerce orders (Woo has a single status; it is kept verbatim in `financial_status`):

| WooCommerce `status` | card status | why |
|---|---|---|
| `pending` | `pending` | order received, no payment yet |
| `checkout-draft` | `pending` | a block-checkout draft the customer has not submitted |
| `processing` | `processing` | paid, awaiting fulfilment |
| `on-hold` | `on_hold` | awaiting payment confirmation by the shop |
| `completed` | `delivered` | see below |
| `cancelled` | `cancelled` | |
| `refunded` | `refunded` | |
| `failed` | `failed` | payment failed or was declined |
| `shipped` (shipment-tracking plugins) | `shipped` | |
| `delivered` (shipment-tracking plugins) | `delivered` | |
| any other custom status | `processing` | a shop-defined step between paid and done |

Woo `completed` means "fulfilled, nothing left to do", and Woo has no delivery tracking. We map it
to `delivered`, not `shipped`: `shipped` would leave every completed order of the shop's history
open on the card and, after a few days, flagged "where is my order?" although the shop considers
it done. Shops that track shipping separately use a plugin status (`shipped`), mapped above.

Shopify returns (`status` of the Return, or the status the topic implies when it is absent):

| Shopify return | card case status |
|---|---|
| `requested` | `open` (the customer asked; the merchant has not decided) |
| `open` | `in_progress` (approved: items are on their way back) |
| `closed` | `resolved` |
| `declined` | `rejected` |
| `canceled` | `closed` |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from app.store.schemas import CaseStatus, OrderStatus

__all__ = [
    "SHOPIFY_DEAD_FULFILLMENTS",
    "SHOPIFY_RETURN_STATUSES",
    "SHOPIFY_TOPIC_RETURN_STATUSES",
    "WOOCOMMERCE_ORDER_STATUSES",
    "shopify_order_status",
    "shopify_return_status",
    "woocommerce_order_status",
]

_SHOPIFY_FINANCIAL_FINAL: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "refunded": OrderStatus.REFUNDED,
        "voided": OrderStatus.CANCELLED,
        "expired": OrderStatus.FAILED,
    }
)
_SHOPIFY_FINANCIAL_OPEN: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "pending": OrderStatus.PENDING,
        "partially_paid": OrderStatus.ON_HOLD,
    }
)
# Fulfillments that did not (or no longer) ship anything.
SHOPIFY_DEAD_FULFILLMENTS = frozenset({"cancelled", "error", "failure"})

WOOCOMMERCE_ORDER_STATUSES: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "pending": OrderStatus.PENDING,
        "checkout-draft": OrderStatus.PENDING,
        "processing": OrderStatus.PROCESSING,
        "on-hold": OrderStatus.ON_HOLD,
        "completed": OrderStatus.DELIVERED,
        "cancelled": OrderStatus.CANCELLED,
        "refunded": OrderStatus.REFUNDED,
        "failed": OrderStatus.FAILED,
        "shipped": OrderStatus.SHIPPED,
        "delivered": OrderStatus.DELIVERED,
    }
)

SHOPIFY_RETURN_STATUSES: Mapping[str, CaseStatus] = MappingProxyType(
    {
        "requested": CaseStatus.OPEN,
        "open": CaseStatus.IN_PROGRESS,
        "closed": CaseStatus.RESOLVED,
        "declined": CaseStatus.REJECTED,
        "canceled": CaseStatus.CLOSED,
    }
)

# The Return status each returns/* topic leaves behind, for payloads that do not carry one.
# returns/process and returns/update leave the status unchanged, so they imply nothing.
SHOPIFY_TOPIC_RETURN_STATUSES: Mapping[str, str] = MappingProxyType(
    {
        "returns/request": "requested",
        "returns/approve": "open",
        "returns/reopen": "open",
        "returns/decline": "declined",
        "returns/cancel": "canceled",
        "returns/close": "closed",
    }
)


def shopify_order_status(
    *,
    cancelled: bool,
    financial_status: str | None,
    fulfillment_status: str | None,
    fulfillments: Iterable[tuple[str | None, str | None]] = (),
) -> OrderStatus:
    """The card status of a Shopify order (table above). `fulfillments` are the order's
    (`status`, `shipment_status`) pairs."""
    financial = (financial_status or "").lower()
    fulfilment = (fulfillment_status or "").lower()
    if cancelled:
        return OrderStatus.CANCELLED
    if financial in _SHOPIFY_FINANCIAL_FINAL:
        return _SHOPIFY_FINANCIAL_FINAL[financial]
    if fulfilment == "fulfilled":
        live = [
            (shipment or "").lower()
            for status, shipment in fulfillments
            if (status or "").lower() not in SHOPIFY_DEAD_FULFILLMENTS
        ]
        if live and all(shipment == "delivered" for shipment in live):
            return OrderStatus.DELIVERED
        return OrderStatus.SHIPPED
    if fulfilment == "partial":
        return OrderStatus.SHIPPED
    return _SHOPIFY_FINANCIAL_OPEN.get(financial, OrderStatus.PROCESSING)


def woocommerce_order_status(status: str) -> OrderStatus:
    """The card status of a WooCommerce order status (table above). The REST API drops the
    `wc-` prefix of the stored post status; a payload built elsewhere may still carry it."""
    word = status.strip().lower().removeprefix("wc-")
    return WOOCOMMERCE_ORDER_STATUSES.get(word, OrderStatus.PROCESSING)


def shopify_return_status(status: str | None, topic: str) -> CaseStatus | None:
    """The case status of a Shopify return, from its own `status` or else from the topic; None
    when neither says (returns/update without a status: keep what is stored)."""
    word = (status or "").strip().lower() or SHOPIFY_TOPIC_RETURN_STATUSES.get(topic)
    if word is None:
        return None
    # A status Shopify adds later is still a return somebody is working on.
    return SHOPIFY_RETURN_STATUSES.get(word, CaseStatus.IN_PROGRESS)
