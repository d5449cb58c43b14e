"""The rules a card is built by, per store: how numbers match, the likely reasons, the base
currency and loyalty tiers, and the links out of the card, compiled once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.card.contracts import StoreBadge
from app.card.links import Links
from app.card.reasons import ReasonSettings
from app.kit.money import from_units
from app.settings import Settings
from app.stores.models import DEFAULT_STORE
from app.stores.schemas import StoreView


@dataclass(frozen=True, slots=True)
class CardRules:
    suffix_digits: int
    reasons: ReasonSettings
    base_currency: str
    tiers: tuple[tuple[str, int, Decimal], ...]  # (name, min orders, min LTV in base currency), best first
    high_returns_ratio: float
    links: Links  # the links out of the card, compiled once
    store_id: str = DEFAULT_STORE  # the store these rules are (its currency, tiers and links)
    badge: StoreBadge | None = None  # the store as the card names it; None with one store only

    @classmethod
    def for_store(cls, settings: Settings, store: StoreView, *, named: bool) -> CardRules:
        """A store's rules: its currency, loyalty thresholds and links (`named`: the card says
        which store it is about, as it does once there is more than one)."""
        loyalty = store.loyalty
        return cls(
            suffix_digits=settings.suffix_match_digits,
            reasons=ReasonSettings(settings.wismo_days, settings.recent_order_hours),
            base_currency=store.base_currency,
            tiers=tuple(
                (tier, int(loyalty[f"{tier}_orders"]), Decimal(str(loyalty[f"{tier}_ltv"])))
                for tier in ("platinum", "gold", "silver")
            ),
            high_returns_ratio=settings.high_returns_ratio,
            links=Links.for_store(settings, store),
            store_id=store.id,
            badge={"id": store.id, "name": store.name, "colour": store.colour} if named else None,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CardRules:
        return cls(
            suffix_digits=settings.suffix_match_digits,
            reasons=ReasonSettings(settings.wismo_days, settings.recent_order_hours),
            base_currency=settings.base_currency,
            tiers=(
                ("platinum", settings.loyalty_platinum_orders, settings.loyalty_platinum_ltv),
                ("gold", settings.loyalty_gold_orders, settings.loyalty_gold_ltv),
                ("silver", settings.loyalty_silver_orders, settings.loyalty_silver_ltv),
            ),
            high_returns_ratio=settings.high_returns_ratio,
            links=Links.from_settings(settings),
        )


def loyalty_tier(rules: CardRules, orders_count: int, ltv: dict[str, int]) -> str:
    """Either threshold earns the tier: a loyal small spender and a rare big spender both matter.
    Only the base currency counts towards the money threshold (no exchange rates are guessed)."""
    base = from_units(ltv.get(rules.base_currency, 0), rules.base_currency)
    for name, min_orders, min_ltv in rules.tiers:
        if orders_count >= min_orders or base >= min_ltv:
            return name
    return "bronze" if orders_count else "new"
