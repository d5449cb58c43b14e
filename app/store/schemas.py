"""What the store backend sends (docs/api.md §2). Validation here is what turns a malformed record into
a 422 that names the field, before anything is written."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.db.storable import UTCTimestamp
from app.kit.money import CURRENCY_EXPONENTS, MONEY_SCALE


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    ON_HOLD = "on_hold"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"


# Orders in these statuses bring no money in: they are left out of the lifetime value.
NON_REVENUE_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED})
# Orders the customer is still waiting for, shown first on the card.
CLOSED_ORDER_STATUSES = frozenset(
    {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.FAILED}
)


class CaseKind(StrEnum):
    COMPLAINT = "complaint"
    RETURN = "return"
    EXCHANGE = "exchange"
    INQUIRY = "inquiry"


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CLOSED = "closed"


OPEN_CASE_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.IN_PROGRESS})


class RecordOrigin(StrEnum):
    """Which platform's webhooks wrote a customer or an order (`origin`; NULL: the sync API or
    the import): the card links the record to that platform's admin."""

    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


def origin_values(origin: RecordOrigin | None, *, created: bool) -> dict[str, str | None]:
    """The `origin` column of a written customer or order. A platform's webhook claims the record;
    a sync API or import write creates it with no origin and otherwise leaves the column alone, so
    a backfill through the import of records a platform's webhooks also send keeps their admin
    links (docs/store-platforms.md#links-to-the-stores-admin)."""
    if origin is not None:
        return {"origin": origin.value}
    return {"origin": None} if created else {}


def _currency(value: str) -> str:
    code = value.upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown ISO 4217 currency code {value!r}")
    return code


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal amount")
    if value < 0:
        raise ValueError("must not be negative")
    if (value * MONEY_SCALE) != (value * MONEY_SCALE).to_integral_value():
        raise ValueError("has more than 4 decimal places")
    if abs(value) >= Decimal(10) ** 14:
        raise ValueError("is too large")
    return value


def _web_url(value: str) -> str:
    # Agents open it with a click: anything but a web page (javascript:, file:, a relative path)
    # is refused here, before it can reach a console.
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces (percent-encode them)")
    return value


Currency = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)]
Money = Annotated[Decimal, AfterValidator(_money)]
ShortText = Annotated[str, StringConstraints(max_length=255)]
PhoneText = Annotated[str, StringConstraints(max_length=64)]
WebUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_web_url)]


class _Record(BaseModel):
    # Unknown fields are ignored (store backends send more than we need); wrong types are not.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CustomerPhoneIn(_Record):
    number: PhoneText
    kind: Annotated[str, StringConstraints(max_length=24)] = "phone"


class OrderPhoneIn(_Record):
    number: PhoneText
    kind: Literal["billing", "shipping"]


class CustomerIn(_Record):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    city: ShortText | None = None
    phones: list[CustomerPhoneIn] = Field(default_factory=list, max_length=50)
    tags: list[ShortText] = Field(default_factory=list, max_length=200)
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    created_at: UTCTimestamp | None = None
    updated_at: UTCTimestamp


class OrderItemIn(_Record):
    title: Annotated[str, StringConstraints(max_length=500)]
    quantity: int = Field(default=1, ge=0, le=1_000_000)


class OrderIn(_Record):
    customer_external_id: ShortText | None = None
    name: ShortText | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    city: ShortText | None = None
    number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    status: OrderStatus
    financial_status: Annotated[str, StringConstraints(max_length=64)] | None = None
    fulfillment_status: Annotated[str, StringConstraints(max_length=64)] | None = None
    total: Money
    refunded_total: Money = Decimal(0)
    currency: Currency
    placed_at: UTCTimestamp
    shipped_at: UTCTimestamp | None = None
    delivered_at: UTCTimestamp | None = None
    expected_delivery_at: UTCTimestamp | None = None
    updated_at: UTCTimestamp
    phones: list[OrderPhoneIn] = Field(default_factory=list, max_length=10)
    tracking_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    items: list[OrderItemIn] = Field(default_factory=list, max_length=1000)


class CaseIn(_Record):
    customer_external_id: ShortText | None = None
    order_external_id: ShortText | None = None
    kind: CaseKind
    status: CaseStatus
    subject: Annotated[str, StringConstraints(max_length=1000)] | None = None
    opened_at: UTCTimestamp
    updated_at: UTCTimestamp
    # The case's page in the store's helpdesk (a ticket), shown as a link on the card.
    url: WebUrl | None = None


class Target(NamedTuple):
    """Where records are written: the store they belong to (their external ids are its), and the
    region its phone numbers written without a country code are read in."""

    store: str
    region: str


class Outcome(NamedTuple):
    """What happened to one record. A tuple, not a model: bulk imports make millions of these."""

    external_id: str
    applied: bool
    reason: Literal["stale", "erased"] | None = None
    created: bool = False


class WriteResult(BaseModel):
    external_id: str
    applied: bool
    reason: Literal["stale", "erased"] | None = None
    created: bool = False


def is_stale(incoming: datetime, stored: datetime | None) -> bool:
    # Equal timestamps re-apply: a repeated PUT is idempotent and must say "applied".
    return stored is not None and incoming < stored
