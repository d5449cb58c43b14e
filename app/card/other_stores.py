"""The card's "also a customer of …" section: the caller as the other stores know them, one
compact line each, with their tier there (in that store's currency and thresholds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.card.contracts import OtherStoreCustomer, StoreBadge
from app.card.matching import Candidate
from app.card.rules import CardRules, loyalty_tier
from app.card.views import iso
from app.store.models import CustomerLifetimeValue

RulesOf = Callable[[str], CardRules]
# Built once and reused with bound ids: building and cache-keying a statement per card cost more
# than running it (as matching.match_statement says of the match).
_VALUES: Final = select(
    CustomerLifetimeValue.customer_id, CustomerLifetimeValue.currency, CustomerLifetimeValue.amount_units
).where(CustomerLifetimeValue.customer_id.in_(bindparam("ids", expanding=True)))
# A compact section: more than this many other stores' people is noise on a pop.
MAX_OTHER_STORES: Final = 5


def _badge(rules: CardRules, store_id: str) -> StoreBadge:
    return rules.badge or {"id": store_id, "name": store_id, "colour": None}


async def other_stores_json(
    session: AsyncSession, others: list[Candidate], rules_of: RulesOf
) -> list[OtherStoreCustomer]:
    """One statement (their lifetime values), and only when another store knows the caller."""
    others = others[:MAX_OTHER_STORES]
    ids = [c.customer_id for c in others if c.customer_id is not None]
    values: dict[int, dict[str, int]] = {}
    if ids:
        rows = await session.execute(_VALUES, {"ids": ids})
        for customer_id, currency, units in rows.all():
            values.setdefault(customer_id, {})[currency] = units
    section: list[OtherStoreCustomer] = []
    for other in others:
        rules = rules_of(other.store_id)
        tier = None
        if other.customer_id is not None:
            tier = loyalty_tier(rules, other.orders_count, values.get(other.customer_id, {}))
        section.append(
            {
                "store": _badge(rules, other.store_id),
                "customer_external_id": other.customer_external_id,
                "name": other.name,
                "guest": other.is_guest,
                "orders_count": other.orders_count,
                "last_order_at": iso(other.last_order_at),
                "loyalty_tier": tier,
                "admin_url": rules.links.customer(other.origin, other.customer_external_id),
            }
        )
    return section
