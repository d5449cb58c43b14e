"""Who is calling: match a normalised caller number against every stored phone (customers' own,
and the billing/shipping phones on orders) in one database statement.

Rules, in order (docs/api.md#the-card):
1. the same E.164 number → `exact` (one customer) or `ambiguous` (several);
2. else, when the caller's country was only assumed, the same national significant number
   under another country code → `probable`;
3. else a guarded suffix match on the last N digits (never under 7 digits, never between two
   different explicit country codes) → `probable`, or `ambiguous` when several.
Candidates are people: a customer account, or a guest known only by the name on their orders.
An agent's own number is never a customer.

Every store's records are searched. The store of the dialled line (`home`) decides: when it knows
the caller, the match is about its people only, and the same number in other stores is the
card's "also a customer of" section (`Match.also`); when it does not, the match is about whoever
another store knows.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CompoundSelect,
    Row,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.kit.phones import NormalisedNumber, NumberKind
from app.store.models import Case, Customer, Order, Phone
from app.store.schemas import OPEN_CASE_STATUSES
from app.stores.models import DEFAULT_STORE

MIN_SUFFIX_DIGITS = 7
# A place a number was found: ("customer", "mobile", None) or ("order", "billing_phone", "#1042").
FoundOn = tuple[str, str, str | None]
MAX_PHONE_ROWS = 200


class MatchStatus(StrEnum):
    EXACT = "exact"
    PROBABLE = "probable"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"
    WITHHELD = "withheld"
    INVALID = "invalid"


class Rule(StrEnum):
    E164 = "e164"
    NATIONAL = "national"
    SUFFIX = "suffix"


@dataclass(slots=True)
class Candidate:
    """One person the number may belong to."""

    customer_id: int | None
    customer_external_id: str | None
    name: str
    first_name: str | None
    email: str | None
    city: str | None
    orders_count: int
    last_order_at: datetime | None
    has_open_case: bool
    matched_on: list[str] = field(default_factory=list)
    # For guests: the ids of the orders that carry the number (the card shows them).
    guest_order_ids: list[int] = field(default_factory=list)
    last_order_number: str | None = None
    returns_count: int = 0
    first_order_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    customer_since: datetime | None = None
    synced_at: datetime | None = None
    # Where the number was found, each place once: (on, field, order number) → its place in the
    # explanation (the customer's own phones first, then orders newest first, each as found).
    found_on: dict[FoundOn, tuple[int, float, int]] = field(default_factory=dict)
    origin: str | None = None  # the platform that wrote the customer (app/card/links.py)
    store_id: str = DEFAULT_STORE  # the store the customer (or the guest's orders) belongs to

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None

    def found(self, sources: list[str], order_number: str | None, placed_at: datetime | None) -> None:
        """Record the places of one phone row (`sources` as Phone.source has them, split)."""
        self.matched_on += [s for s in sources if s not in self.matched_on]
        for source in sources:
            on, _, name = source.partition(".")
            if on == "order":
                key: FoundOn = ("order", name, order_number)
                rank = (1, -(placed_at.timestamp() if placed_at else 0.0), len(self.found_on))
            else:
                key, rank = ("customer", name or on, None), (0, 0.0, len(self.found_on))
            self.found_on.setdefault(key, rank)

    def take_places_of(self, other: Candidate) -> None:
        self.matched_on += [s for s in other.matched_on if s not in self.matched_on]
        for key, (kind, placed, _) in other.found_on.items():
            self.found_on.setdefault(key, (kind, placed, len(self.found_on)))

    @property
    def places(self) -> list[FoundOn]:
        return sorted(self.found_on, key=self.found_on.__getitem__)


@dataclass(slots=True)
class Match:
    status: MatchStatus
    candidates: list[Candidate] = field(default_factory=list)
    rule: Rule | None = None
    agent_name: str | None = None  # set when the number is one of our own agents'
    # The same number's people in stores other than the line's, when the line's store knows the
    # caller too (else they are the candidates themselves).
    also: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.status in (MatchStatus.EXACT, MatchStatus.PROBABLE) else None

    @property
    def matched_on(self) -> list[str]:
        seen: list[str] = []
        for candidate in self.candidates:
            seen += [s for s in candidate.matched_on if s not in seen]
        return seen

    @property
    def places(self) -> list[FoundOn]:
        """Every candidate's places, each once, the candidates in their order."""
        seen: dict[FoundOn, None] = {}
        for candidate in self.candidates:
            seen.update(dict.fromkeys(candidate.places))
        return list(seen)


def _suffix_bounds(digits: str, length: int) -> tuple[str, str]:
    """Reversed-digit range whose members end with the caller's last `length` digits."""
    prefix = digits[::-1][:length]
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def match_parameters(number: NormalisedNumber, suffix_digits: int) -> dict[str, str]:
    """The values this caller's rules compare with; a rule that needs no probe of its own has none.

    Every stored number equal to the caller's, or with the caller's national number under another
    country code, ends with the caller's last digits too: one range scan over reversed digits finds
    all three kinds of candidate, and `decide` sorts them into exact, national and suffix matches.
    Only when the suffix is too short to use, or reaches past a short national number into the
    country code, do the equality probes run as well."""
    assert number.e164 is not None
    digits = number.e164[1:]
    params: dict[str, str] = {}
    length = min(suffix_digits, len(digits))
    if length >= MIN_SUFFIX_DIGITS:
        params["low"], params["high"] = _suffix_bounds(digits, length)
    else:
        params["e164"] = number.e164
    national = number.national or ""
    if not number.country_explicit and national and (len(national) < length or "low" not in params):
        params["national"] = national
    return params


@functools.cache
def match_statement(use_e164: bool, use_national: bool, use_suffix: bool) -> CompoundSelect:
    """The single statement behind a match. Built once per shape and reused with bound values:
    constructing and cache-keying SQLAlchemy statements per call cost more than the query."""
    conditions = []
    if use_e164:
        conditions.append(Phone.e164 == bindparam("e164"))
    if use_national:
        conditions.append(Phone.national == bindparam("national"))
    if use_suffix:
        conditions.append(
            and_(Phone.reversed_digits >= bindparam("low"), Phone.reversed_digits < bindparam("high"))
        )
    open_case = exists().where(
        Case.customer_id == Customer.id, Case.status.in_([s.value for s in OPEN_CASE_STATUSES])
    )
    phones = (
        select(
            literal("phone").label("kind"),
            Phone.source,
            Phone.e164,
            Phone.national,
            Phone.country_code,
            Customer.id.label("customer_id"),
            Customer.external_id,
            Customer.first_name,
            Customer.last_name,
            Customer.email,
            Customer.city,
            Customer.orders_count,
            Customer.last_order_at,
            Customer.returns_count,
            Customer.first_order_at,
            Customer.tags,
            Customer.note,
            Customer.created_at.label("customer_since"),
            Customer.synced_at,
            Customer.origin,
            Customer.store_id,
            open_case.label("has_open_case"),
            Order.id.label("order_id"),
            Order.name.label("order_name"),
            Order.email.label("order_email"),
            Order.city.label("order_city"),
            Order.number.label("order_number"),
            Order.placed_at.label("order_placed_at"),
            Order.store_id.label("order_store_id"),
        )
        .select_from(Phone)
        .outerjoin(Order, Order.id == Phone.order_id)
        # A customer's own phone, or an order's phone that belongs to the order's customer.
        .outerjoin(Customer, Customer.id == func.coalesce(Phone.customer_id, Order.customer_id))
        .where(or_(*conditions))
        .limit(MAX_PHONE_ROWS)
    )
    agents = select(
        literal("agent").label("kind"),
        cast(Agent.display_name, String).label("source"),
        Agent.phone_e164,
        *(null() for _ in range(len(phones.selected_columns) - 3)),
    ).where(Agent.phone_e164 == bindparam("agent_e164"), Agent.is_active)
    # The phones come first: a compound select takes its result types (JSON, UTC datetimes) from
    # its first member.
    return union_all(phones.subquery().select(), agents)


async def match_number(
    session: AsyncSession, number: NormalisedNumber, *, suffix_digits: int, home: str = DEFAULT_STORE
) -> Match:
    """Who `number` is, for a call on a line of store `home` (see the module's docstring)."""
    if number.kind is NumberKind.WITHHELD:
        return Match(MatchStatus.WITHHELD)
    if number.kind is not NumberKind.E164 or number.e164 is None:
        return Match(MatchStatus.INVALID)
    params = match_parameters(number, suffix_digits)
    statement = match_statement("e164" in params, "national" in params, "low" in params)
    rows = (await session.execute(statement, {**params, "agent_e164": number.e164})).all()
    agent = next((row for row in rows if row.kind == "agent"), None)
    if agent is not None:
        return Match(MatchStatus.UNKNOWN, agent_name=agent.source)
    return decide(number, [row for row in rows if row.kind == "phone"], suffix_digits, home)


def decide(
    number: NormalisedNumber,
    rows: list[Row],  # type: ignore[type-arg]
    suffix_digits: int,
    home: str = DEFAULT_STORE,
) -> Match:
    exact = [r for r in rows if r.e164 == number.e164]
    if exact:
        return _people(exact, Rule.E164, sure=True, home=home)
    national = [
        r for r in rows if not number.country_explicit and number.national and r.national == number.national
    ]
    if national:
        return _people(national, Rule.NATIONAL, sure=False, home=home)
    caller_cc = country_code(number)
    suffix = [
        r
        for r in rows
        # Two numbers with different explicit country codes are different numbers, whatever
        # their last digits say.
        if not (number.country_explicit and r.country_code is not None and r.country_code != caller_cc)
    ]
    if suffix:
        return _people(suffix, Rule.SUFFIX, sure=False, home=home)
    return Match(MatchStatus.UNKNOWN)


def country_code(number: NormalisedNumber) -> int | None:
    if number.e164 is None or number.national is None:
        return None
    return int(number.e164[1 : len(number.e164) - len(number.national)] or 0) or None


def _person_key(name: str | None) -> str:
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(folded.split())


def _people(rows: list[Row], rule: Rule, *, sure: bool, home: str) -> Match:  # type: ignore[type-arg]
    by_customer: dict[int, Candidate] = {}
    guests: dict[str, Candidate] = {}
    for r in rows:
        sources = r.source.split(",")
        if r.customer_id is not None:
            candidate = by_customer.get(r.customer_id)
            if candidate is None:
                name = " ".join(p for p in (r.first_name, r.last_name) if p) or r.email or r.external_id
                candidate = by_customer[r.customer_id] = Candidate(
                    customer_id=r.customer_id,
                    customer_external_id=r.external_id,
                    name=name,
                    first_name=r.first_name,
                    email=r.email,
                    city=r.city,
                    orders_count=r.orders_count,
                    last_order_at=r.last_order_at,
                    has_open_case=bool(r.has_open_case),
                    returns_count=r.returns_count,
                    first_order_at=r.first_order_at,
                    tags=list(r.tags or []),
                    note=r.note,
                    customer_since=r.customer_since,
                    synced_at=r.synced_at,
                    origin=r.origin,
                    store_id=r.store_id,
                )
            candidate.found(sources, r.order_number, r.order_placed_at)
            continue
        if r.order_id is None:
            continue
        # A guest checkout: the person is whoever the order names (in that order's store).
        key = f"{r.order_store_id}/{_person_key(r.order_name) or f'order:{r.order_id}'}"
        guest = guests.get(key)
        if guest is None:
            guest = guests[key] = Candidate(
                customer_id=None,
                customer_external_id=None,
                name=r.order_name or "Guest",
                first_name=(r.order_name or "").split(" ")[0] or None,
                email=r.order_email,
                city=r.order_city,
                orders_count=0,
                last_order_at=None,
                has_open_case=False,
                store_id=r.order_store_id,
            )
        guest.guest_order_ids.append(r.order_id)
        guest.orders_count += 1
        if guest.last_order_at is None or r.order_placed_at > guest.last_order_at:
            guest.last_order_at = r.order_placed_at
            guest.last_order_number = r.order_number
        guest.found(sources, r.order_number, r.order_placed_at)

    # A guest order whose name is an account holder's of the same store among the candidates is
    # theirs, not another person.
    account_names = {f"{c.store_id}/{_person_key(c.name)}" for c in by_customer.values()}
    people = list(by_customer.values()) + [g for k, g in guests.items() if k not in account_names]
    for key, guest in guests.items():
        if key in account_names:
            owner = next(c for c in by_customer.values() if f"{c.store_id}/{_person_key(c.name)}" == key)
            owner.take_places_of(guest)
    people.sort(key=_rank)
    also: list[Candidate] = []
    if any(person.store_id == home for person in people):
        also = [person for person in people if person.store_id != home]
        people = [person for person in people if person.store_id == home]
    if len(people) > 1:
        return Match(MatchStatus.AMBIGUOUS, people, rule, also=also)
    return Match(MatchStatus.EXACT if sure else MatchStatus.PROBABLE, people, rule, also=also)


def _rank(candidate: Candidate) -> tuple[bool, float, int]:
    """Open case first, then the most recent order, then the most orders."""
    recent = candidate.last_order_at.timestamp() if candidate.last_order_at else 0.0
    return (not candidate.has_open_case, -recent, -candidate.orders_count)
