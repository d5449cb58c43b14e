"""The context card (docs/api.md#the-card): who is calling and what they probably want, in at most three
database statements whatever the customer's history: the match, their top orders, and their open
cases with lifetime value and recent calls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.card.contracts import (
    STORE_UNAVAILABLE,
    Card,
    CardCaller,
    CardCandidate,
    CardCustomer,
    CardMatch,
    MatchVia,
    RecentCall,
    StoreBadge,
)
from app.card.links import Links
from app.card.matching import Candidate, FoundOn, Match, MatchStatus, match_number
from app.card.other_stores import RulesOf, other_stores_json
from app.card.reasons import likely_reason, no_reason
from app.card.rules import CardRules, loyalty_tier
from app.card.statements import (
    CARD_ORDERS,
    OPEN_ORDER_STATUSES,
    cases_and_value_statement,
    orders_statement,
)
from app.card.views import CaseView, OrderView, iso
from app.kit.money import format_amount
from app.kit.phones import NormalisedNumber, NumberKind, display


def _owner_parameters(candidate: Candidate) -> dict[str, Any]:
    if candidate.is_guest:
        return {"order_ids": candidate.guest_order_ids[:50]}
    return {"customer_id": candidate.customer_id}


def _card_orders(rows: list[Any]) -> list[OrderView]:
    seen: set[int] = set()
    views: list[OrderView] = []
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        views.append(OrderView(*row))
    return sorted(views, key=lambda o: (o.status not in OPEN_ORDER_STATUSES, -o.placed_at.timestamp()))


def _via(places: list[FoundOn]) -> list[MatchVia]:
    return [
        {"field": name, "on": "order" if on == "order" else "customer", "order_number": number}
        for on, name, number in places
    ]


def _candidate_json(candidate: Candidate, links: Links) -> CardCandidate:
    return {
        "customer_external_id": candidate.customer_external_id,
        "name": candidate.name,
        "guest": candidate.is_guest,
        "city": candidate.city,
        "email": candidate.email,
        "orders_count": candidate.orders_count,
        "last_order_at": iso(candidate.last_order_at),
        "last_order_number": candidate.last_order_number,
        "has_open_case": candidate.has_open_case,
        "matched_on": candidate.matched_on,
        "via": _via(candidate.places),
        "admin_url": links.customer(candidate.origin, candidate.customer_external_id),
    }


def _customer_json(candidate: Candidate, links: Links) -> CardCustomer:
    return {
        "external_id": candidate.customer_external_id,
        "name": candidate.name,
        "first_name": candidate.first_name,
        "email": candidate.email,
        "city": candidate.city,
        "tags": candidate.tags,
        "note": candidate.note,
        "customer_since": iso(candidate.customer_since),
        "guest": candidate.is_guest,
        "admin_url": links.customer(candidate.origin, candidate.customer_external_id),
    }


def caller_json(number: NormalisedNumber, links: Links) -> CardCaller:
    callback_url = links.call_back(number)
    return {
        "raw": number.raw,
        "kind": number.kind.value,
        "e164": number.e164,
        "display": display(number),
        "callable": callback_url is not None,
        "callback_url": callback_url,
    }


def _card_of_nobody(
    number: NormalisedNumber,
    match: CardMatch,
    headline: str,
    call: Mapping[str, object] | None,
    links: Links,
    store: StoreBadge | None,
) -> Card:
    """A card no customer fills in: every card's shape, with the caller's number and the match."""
    return {
        "call": call,
        "caller": caller_json(number, links),
        "match": match,
        "customer": None,
        "stats": None,
        "orders": [],
        "open_cases": [],
        "recent_calls": [],
        "likely_reason": no_reason(),
        "data_as_of": None,
        "headline": headline,
        "store": store,
        "also_customer_of": [],
    }


def card_without_store(number: NormalisedNumber, links: Links, store: StoreBadge | None = None) -> Card:
    """The card of a call that rings while the database is unreachable: the same shape as any card
    (consoles render it like an unknown caller's), saying why there is nothing more."""
    match: CardMatch = {
        "status": STORE_UNAVAILABLE,
        "matched_on": None,
        "via": [],
        "candidates": [],
        "internal_agent": None,
    }
    return _card_of_nobody(
        number, match, f"Store data unavailable — caller {display(number)}", None, links, store
    )


def with_call(card: Card, call: Mapping[str, object]) -> Card:
    """The card a call pops with: `card` as looked up (usually while the call was being recorded),
    and the call as the log now has it. A new card, so the looked-up one is never changed; the
    call stays the card's first key, where agents' consoles have always found it."""
    return {**card, "call": call}


async def build_card(
    session: AsyncSession,
    number: NormalisedNumber,
    rules: CardRules,
    now: datetime,
    *,
    call: Mapping[str, object] | None = None,
    chosen_customer: str | None = None,
    rules_of: RulesOf | None = None,
) -> Card:
    """The card for `number` on a line of the store of `rules`, complete: about `chosen_customer`
    when the agent picked one of the candidates of an ambiguous card (its headline then names
    them too), else the best match. `rules_of` gives other stores' rules, for a customer of
    another store and the "also a customer of" section (without it, every store has `rules`)."""
    match = await match_number(session, number, suffix_digits=rules.suffix_digits, home=rules.store_id)
    match_json: CardMatch = {
        "status": match.status,
        "matched_on": match.matched_on,
        "via": _via(match.places),
        "candidates": [_candidate_json(c, rules.links) for c in match.candidates],
        "internal_agent": match.agent_name,
    }
    person = _person(match, chosen_customer)
    if person is None:
        return _card_of_nobody(number, match_json, _headline(number, match), call, rules.links, rules.badge)
    rules_by_store = rules_of or (lambda _store: rules)
    person_rules = rules if person.store_id == rules.store_id else rules_by_store(person.store_id)
    card = await _person_card(session, number, match_json, person, call, person_rules, now)
    card["also_customer_of"] = await other_stores_json(session, match.also, rules_by_store)
    return card


def _person(match: Match, chosen_customer: str | None) -> Candidate | None:
    if chosen_customer is not None:
        return next((c for c in match.candidates if c.customer_external_id == chosen_customer), None)
    return match.best


async def _person_card(
    session: AsyncSession,
    number: NormalisedNumber,
    match: CardMatch,
    person: Candidate,
    call: Mapping[str, object] | None,
    rules: CardRules,
    now: datetime,
) -> Card:
    params = _owner_parameters(person)
    orders = _card_orders((await session.execute(orders_statement(person.is_guest), params)).all())
    cases: list[CaseView] = []
    calls: list[RecentCall] = []
    ltv: dict[str, int] = {}
    for row in (await session.execute(cases_and_value_statement(person.is_guest), params)).all():
        if row.row == "case":
            cases.append(CaseView(row.a, row.b, row.c, row.d, row.at, row.e, row.u))
        elif row.row == "call":
            calls.append(
                {
                    "at": iso(row.at),
                    "state": row.a,
                    "agent": row.b,
                    "note": row.c,
                    "disposition": row.d,
                    "noted_by": row.e,
                    "talking_s": row.n,
                }
            )
        else:
            ltv[row.a] = int(row.n)
    if person.is_guest:
        # A guest has no aggregates of their own: what the matched orders say is all there is.
        for order in orders:
            if order.status not in ("cancelled", "refunded"):
                ltv[order.currency] = ltv.get(order.currency, 0) + max(
                    order.total_units - order.refunded_units, 0
                )
    orders_count = person.orders_count
    returns_count = person.returns_count
    orders = orders[:CARD_ORDERS]
    return {
        "call": call,
        "caller": caller_json(number, rules.links),
        "match": match,
        "customer": _customer_json(person, rules.links),
        "stats": {
            "orders_count": orders_count,
            "lifetime_value": [
                {"amount": format_amount(units, currency), "currency": currency}
                for currency, units in sorted(
                    ltv.items(), key=lambda kv: (kv[0] != rules.base_currency, kv[0])
                )
                if units
            ],
            "returns_count": returns_count,
            "first_order_at": iso(person.first_order_at),
            "last_order_at": iso(person.last_order_at),
            "loyalty_tier": loyalty_tier(rules, orders_count, ltv),
            "high_returns": orders_count >= 3 and returns_count / orders_count >= rules.high_returns_ratio,
        },
        "orders": [o.to_json(rules.links) for o in orders],
        "open_cases": [c.to_json(rules.links) for c in cases],
        "recent_calls": sorted(calls, key=lambda c: c["at"] or "", reverse=True),
        "likely_reason": likely_reason(orders, cases, now, rules.reasons),
        "data_as_of": iso(person.synced_at),
        "headline": _person_headline(person),
        "store": rules.badge,
        "also_customer_of": [],
    }


def _person_headline(person: Candidate) -> str:
    """The headline of a card about one person, whether the match or the agent picked them (the
    console once rewrote the headline of a picked card into this itself)."""
    return f"{person.name} — say hello to {person.first_name or person.name}"


def _headline(number: NormalisedNumber, match: Match) -> str:
    """One line an agent can read at a glance, whatever the match, for a card about nobody (or
    about someone the agent picked who no longer matches the number)."""
    if match.agent_name:
        return f"Internal call from {match.agent_name}"
    if match.status is MatchStatus.WITHHELD:
        return "Withheld number"
    if match.status is MatchStatus.INVALID:
        return (
            "Not a phone number"
            if number.kind is NumberKind.NOT_A_PHONE
            else f"Invalid number {number.raw!r}"
        )
    if match.status is MatchStatus.UNKNOWN:
        return f"Unknown caller {display(number)}"
    if match.status is MatchStatus.AMBIGUOUS:
        return f"{len(match.candidates)} possible customers"
    return _person_headline(match.candidates[0])
