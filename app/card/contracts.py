"""The card as it travels (docs/api.md#the-card): the shapes app/card builds and every consumer
reads, typed once here.

TypedDicts, not classes: a card is built once per pop and handed to orjson as it is, and a
TypedDict is a plain dict at run time (dataclasses measured 3 to 11 times slower). The
codes are `StrEnum`s, so a member serialises as the very string the console compares with.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum, unique
from typing import Any, Final, Literal, TypedDict

from app.card.matching import MatchStatus

# The match status of a card built while the store's data could not be read (the database was
# away): the caller's number is all the agent gets, and the card is replaced once it is back.
STORE_UNAVAILABLE: Final = "unavailable"


@unique
class ReasonCode(StrEnum):
    """Why the customer is probably calling (`likely_reason.code`), in the rules' precedence."""

    OPEN_COMPLAINT = "open_complaint"
    RETURN_IN_PROGRESS = "return_in_progress"
    EXCHANGE_IN_PROGRESS = "exchange_in_progress"
    PAYMENT_PROBLEM = "payment_problem"
    WHERE_IS_MY_ORDER = "where_is_my_order"
    RECENT_ORDER = "recent_order"


class CardCaller(TypedDict):
    raw: str
    # What the number is: e164, withheld, invalid (digits that are no number) or not_a_phone
    # (nothing to look up, such as a SIP user name): consoles word the headline from it.
    kind: str
    e164: str | None
    display: str
    # Whether an agent can call the number back (false for withheld and invalid numbers), and
    # the link that does it, from RINGCARD_CALLBACK_URL_TEMPLATE (tel:… by default).
    callable: bool
    callback_url: str | None


class MatchVia(TypedDict):
    """One place the caller's number was found: a customer's own phone (`field` is its kind:
    mobile, phone, work, home…) or an order's (billing_phone, shipping_phone) with the order's
    number. The console words it ("mobile · billing phone of #1042")."""

    field: str
    on: Literal["customer", "order"]
    order_number: str | None  # set when `on` is "order"


class CardCandidate(TypedDict):
    """One person the number may belong to, as an agent picks among them."""

    customer_external_id: str | None  # None for a guest checkout
    name: str
    guest: bool
    city: str | None
    email: str | None
    orders_count: int
    last_order_at: str | None
    last_order_number: str | None
    has_open_case: bool
    matched_on: list[str]  # the raw sources (customer.mobile, order.billing_phone), as before `via`
    via: list[MatchVia]
    admin_url: str | None  # the customer in the store's admin (None for a guest)


class CardMatch(TypedDict):
    status: MatchStatus | Literal["unavailable"]
    matched_on: list[str] | None  # None when the store could not be read
    via: list[MatchVia]  # [] when nothing matched or the store could not be read
    candidates: list[CardCandidate]
    internal_agent: str | None  # the agent whose own phone called


class CardCustomer(TypedDict):
    external_id: str | None
    name: str
    first_name: str | None
    email: str | None
    city: str | None
    tags: list[str]
    note: str | None
    customer_since: str | None
    guest: bool
    admin_url: str | None  # the customer in the store's admin (docs/store-platforms.md)


class Amount(TypedDict):
    amount: str
    currency: str


class CardStats(TypedDict):
    orders_count: int
    lifetime_value: list[Amount]
    returns_count: int
    first_order_at: str | None
    last_order_at: str | None
    loyalty_tier: str
    high_returns: bool


class CardOrder(TypedDict):
    external_id: str
    number: str
    status: str
    financial_status: str | None
    fulfillment_status: str | None
    total: str
    refunded: str | None
    currency: str
    placed_at: str | None
    shipped_at: str | None
    delivered_at: str | None
    tracking_url: str | None
    items: list[dict[str, Any]]  # as the store sent them
    admin_url: str | None  # the order in the store's admin


class CardCase(TypedDict):
    external_id: str
    kind: str
    status: str
    subject: str | None
    order_number: str | None
    opened_at: str | None
    url: str | None  # the helpdesk's page of the case: as the store sent it, else the template's


class RecentCall(TypedDict):
    at: str | None
    state: str
    agent: str | None
    note: str | None
    disposition: str | None
    noted_by: str | None
    talking_s: int | None


class CaseReasonParams(TypedDict):
    """open_complaint, return_in_progress, exchange_in_progress."""

    case_id: str
    order_number: str | None


class PaymentReasonParams(TypedDict):
    order_number: str
    state: str  # the financial status, else the order status, as the store wrote it


class WhereIsMyOrderParams(TypedDict):
    order_number: str
    shipped_at: str | None
    days_since_shipped: int | None
    expected_delivery_at: str | None


class RecentOrderParams(TypedDict):
    order_number: str
    placed_at: str
    hours_since_placed: int


class NoReasonParams(TypedDict):
    """The parameters of `code: null`: none."""


ReasonParams = (
    CaseReasonParams | PaymentReasonParams | WhereIsMyOrderParams | RecentOrderParams | NoReasonParams
)


class LikelyReason(TypedDict):
    code: ReasonCode | None
    text: str | None  # the sentence in English, for API clients; consoles compose it from params
    params: ReasonParams


class StoreBadge(TypedDict):
    """Which store a card is about: its name and colour beside the caller on the pop."""

    id: str
    name: str
    colour: str | None  # #rrggbb, or None for the console's own


class OtherStoreCustomer(TypedDict):
    """The same number known in another store than the line's: a compact line of the card."""

    store: StoreBadge
    customer_external_id: str | None  # None for a guest checkout
    name: str
    guest: bool
    orders_count: int
    last_order_at: str | None
    loyalty_tier: str | None  # in that store's currency and thresholds; None for a guest
    admin_url: str | None


class Card(TypedDict):
    """The whole card. `call` is the call it popped for (app/calls builds that view; None for a
    lookup without a call), so it is typed here only as the mapping it is."""

    call: Mapping[str, object] | None
    caller: CardCaller
    match: CardMatch
    customer: CardCustomer | None
    stats: CardStats | None
    orders: list[CardOrder]
    open_cases: list[CardCase]
    recent_calls: list[RecentCall]
    likely_reason: LikelyReason
    data_as_of: str | None
    headline: str
    # The store the card's customer belongs to (else the line's); None while the deployment has
    # one store only, where there is nothing to tell apart.
    store: StoreBadge | None
    also_customer_of: list[OtherStoreCustomer]
