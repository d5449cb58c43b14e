"""Stores as records: a store's view as in effect (`view_of`: each empty field is the
deployment's setting) and the writes, each one transaction (the shapes are in schemas.py).

Lines are claimed through `store_lines`' primary key: two stores claiming one line at once end
with one owner and the other told which store has it (409), never with both or a half-written
store. A PUT replaces the store whole, lines included, under the store row's lock, so concurrent
PUTs of one store leave one of them, not a mix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of, upsert_insert, utcnow
from app.kit.store_fields import zone_of_region
from app.settings import (
    Settings,
)
from app.store.models import Case, Customer, Erasure, Order, OrderDeletion
from app.stores.models import DEFAULT_STORE, Store, StoreLine
from app.stores.schemas import TIERS, StoreIn, StoreLoyalty, StoreView, check_store_id


class StoreNotFound(LookupError):
    pass


class DefaultStoreKept(ValueError):
    """The `default` store holds everything written without a store: it cannot be deleted."""


@dataclass(frozen=True, slots=True)
class ShopTaken(Exception):
    """Each Shopify shop and WooCommerce site sends its webhooks to one store."""

    what: str  # "Shopify shop acme"
    owner: str

    def __str__(self) -> str:
        return f"{self.what} belongs to store {self.owner!r}; take it off that store first"


@dataclass(frozen=True, slots=True)
class StoreInUse(Exception):
    store_id: str
    records: int

    def __str__(self) -> str:
        return (
            f"store {self.store_id!r} still has {self.records} customers, orders or cases; "
            "erase them first (DELETE /api/v1/customers/{id}?store=...)"
        )


@dataclass(frozen=True, slots=True)
class LineTaken(Exception):
    line: str
    owner: str

    def __str__(self) -> str:
        return f"line {self.line} belongs to store {self.owner!r}; take it off that store first"


_INHERITABLE: Final = (
    "region",
    "base_currency",
    "timezone",
    "order_url_template",
    "customer_url_template",
    "case_url_template",
    "shopify_shop",
    "woocommerce_url",
)
# Only the default store takes the deployment's platform settings: another store's shop is its own.
_DEFAULT_ONLY: Final = frozenset({"shopify_shop", "woocommerce_url"})


def view_of(store: Store, lines: list[str], settings: Settings) -> StoreView:
    given = (
        StoreLoyalty.model_validate(orjson.loads(store.loyalty_json))
        if store.loyalty_json
        else StoreLoyalty()
    )
    loyalty: dict[str, Any] = {}
    inherited: list[str] = []
    for tier in TIERS:
        for measure in ("orders", "ltv"):
            name = f"{tier}_{measure}"
            value = getattr(given, name)
            if value is None:
                value = getattr(settings, f"loyalty_{name}")
                inherited.append(f"loyalty.{name}")
            loyalty[name] = str(value) if isinstance(value, Decimal) else value
    # A store's own region gives it that region's time zone: not the setting's.
    is_default = store.id == DEFAULT_STORE
    inherited += [
        name
        for name in _INHERITABLE
        if getattr(store, name) is None
        and not (name == "timezone" and store.region)
        and (is_default or name not in _DEFAULT_ONLY)
    ]
    region = store.region or settings.default_region
    # A store with a region of its own and no time zone lives in its region's (as the settings).
    timezone = store.timezone or (zone_of_region(store.region) if store.region else settings.store_timezone)
    return StoreView(
        id=store.id,
        name=store.name,
        region=region,
        base_currency=store.base_currency or settings.base_currency,
        timezone=timezone,
        colour=store.colour,
        order_url_template=store.order_url_template or settings.order_url_template,
        customer_url_template=store.customer_url_template or settings.customer_url_template,
        case_url_template=store.case_url_template or settings.case_url_template,
        loyalty=loyalty,
        lines=sorted(lines),
        shopify_shop=store.shopify_shop or (settings.shopify_shop if is_default else None),
        woocommerce_url=store.woocommerce_url or (settings.woocommerce_url if is_default else None),
        shopify_webhook_secret_set=bool(
            store.shopify_webhook_secret or (is_default and settings.shopify_webhook_secret)
        ),
        woocommerce_webhook_secret_set=bool(
            store.woocommerce_webhook_secret or (is_default and settings.woocommerce_webhook_secret)
        ),
        inherited=sorted(inherited),
        created_at=store.created_at,
        updated_at=store.updated_at,
    )


def _check_tiers(view: StoreView) -> None:
    """Each tier asks for at least what the one below does (else no one would be silver)."""
    loyalty = view.loyalty
    for measure in ("orders", "ltv"):
        values = [Decimal(str(loyalty[f"{tier}_{measure}"])) for tier in TIERS]
        if values != sorted(values):
            shown = ", ".join(str(value) for value in values)
            raise ValueError(
                f"loyalty: silver_{measure} ≤ gold_{measure} ≤ platinum_{measure} (in effect {shown})"
            )


async def _lines_of(session: AsyncSession, store_id: str) -> list[str]:
    return list(await session.scalars(select(StoreLine.line).where(StoreLine.store_id == store_id)))


DEFAULT_NAME: Final = "Default store"


def unwritten_default() -> Store:
    """The default store when its row is not there (the migration writes one; a database emptied
    by hand may not have it): all of it the deployment's settings."""
    return Store(id=DEFAULT_STORE, name=DEFAULT_NAME, created_at=None, updated_at=None)


async def list_stores(session: AsyncSession, settings: Settings) -> list[StoreView]:
    stores = list(await session.scalars(select(Store).order_by(Store.id)))
    if all(store.id != DEFAULT_STORE for store in stores):
        stores = sorted([*stores, unwritten_default()], key=lambda store: store.id)
    lines: dict[str, list[str]] = {}
    for line, store_id in await session.execute(select(StoreLine.line, StoreLine.store_id)):
        lines.setdefault(store_id, []).append(line)
    return [view_of(store, lines.get(store.id, []), settings) for store in stores]


async def get_store(session: AsyncSession, store_id: str, settings: Settings) -> StoreView:
    store = await session.get(Store, store_id)
    if store is None and store_id == DEFAULT_STORE:
        store = unwritten_default()
    if store is None:
        raise StoreNotFound(store_id)
    return view_of(store, await _lines_of(session, store_id), settings)


async def put_store(
    session: AsyncSession, store_id: str, given: StoreIn, settings: Settings
) -> tuple[StoreView, bool]:
    """The store written whole (created when new); (its view, created). In the caller's
    transaction: a LineTaken or ValueError leaves nothing written once it rolls back."""
    check_store_id(store_id)
    now = utcnow()
    thresholds = given.loyalty.model_dump(mode="json", exclude_none=True)  # only those given
    values = {
        "name": given.name,
        "region": given.region,
        "base_currency": given.base_currency,
        "timezone": given.timezone,
        "colour": given.colour,
        "order_url_template": given.order_url_template,
        "customer_url_template": given.customer_url_template,
        "case_url_template": given.case_url_template,
        "loyalty_json": orjson.dumps(thresholds).decode() if thresholds else None,
        "shopify_shop": given.shopify_shop,
        "woocommerce_url": given.woocommerce_url,
        "updated_at": now,
    }
    # A secret left out stays as stored; "" takes it away.
    for secret in ("shopify_webhook_secret", "woocommerce_webhook_secret"):
        value = getattr(given, secret)
        if value is not None:
            values[secret] = value or None
    await _check_shops_free(session, store_id, given)
    created = (
        await session.scalar(
            upsert_insert(session, table_of(Store))
            .values(id=store_id, created_at=now, **values)
            .on_conflict_do_nothing()
            .returning(Store.id)
        )
        is not None
    )
    # The row is ours to change until the commit: a concurrent PUT of this store waits here.
    store = await session.scalar(select(Store).where(Store.id == store_id).with_for_update())
    assert store is not None
    for name, value in values.items():
        setattr(store, name, value)
    await session.flush()
    region = given.region or settings.default_region
    keys = given.line_keys(region)
    await session.execute(delete(StoreLine).where(StoreLine.store_id == store_id))
    if keys:
        claimed = set(
            await session.scalars(
                upsert_insert(session, table_of(StoreLine))
                .values([{"line": key, "store_id": store_id} for key in keys])
                .on_conflict_do_nothing()
                .returning(StoreLine.line)
            )
        )
        for key in keys:
            if key not in claimed:
                owner = await session.scalar(select(StoreLine.store_id).where(StoreLine.line == key))
                raise LineTaken(key, owner or "?")
    view = view_of(store, keys, settings)
    _check_tiers(view)
    return view, created


async def _check_shops_free(session: AsyncSession, store_id: str, given: StoreIn) -> None:
    """ShopTaken when another store has the shop or the site. Two PUTs claiming one at once:
    the unique index lets one commit, and the other fails (IntegrityError, a 409 at the route)."""
    for column, value, what in (
        (Store.shopify_shop, given.shopify_shop, "Shopify shop"),
        (Store.woocommerce_url, given.woocommerce_url, "WooCommerce site"),
    ):
        if value is None:
            continue
        owner = await session.scalar(select(Store.id).where(column == value, Store.id != store_id))
        if owner is not None:
            raise ShopTaken(f"{what} {value}", owner)


async def delete_store(session: AsyncSession, store_id: str) -> None:
    if store_id == DEFAULT_STORE:
        raise DefaultStoreKept("the default store holds everything written without a store; it stays")
    store = await session.get(Store, store_id, with_for_update=True)
    if store is None:
        raise StoreNotFound(store_id)
    # The records keep the store row (their foreign key): a store with data stays until erased.
    records = 0
    for model in (Customer, Order, Case):
        records += await session.scalar(select(func.count()).where(model.store_id == store_id)) or 0
    if records:
        raise StoreInUse(store_id, records)
    # The tombstones of records it no longer has go with it.
    for tombstone in (Erasure, OrderDeletion):
        await session.execute(delete(tombstone).where(tombstone.store_id == store_id))
    await session.execute(delete(StoreLine).where(StoreLine.store_id == store_id))
    await session.delete(store)
