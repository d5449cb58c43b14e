"""Stores as records: what an operator writes (`StoreIn`, through PUT /api/v1/stores/{id} or
`ringcard store put`), what a store is in effect (`StoreView`: each empty field is the
deployment's setting), and the writes, each one transaction.

Lines are claimed through `store_lines`' primary key: two stores claiming one line at once end
with one owner and the other told which store has it (409), never with both or a half-written
store. A PUT replaces the store whole, lines included, under the store row's lock, so concurrent
PUTs of one store leave one of them, not a mix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table_of, upsert_insert, utcnow
from app.kit.lines import ALL_LINES, line_key
from app.kit.store_fields import currency_code, region_code, time_zone_name, zone_of_region
from app.settings import Settings, order_link_template, record_link_template
from app.stores.models import DEFAULT_STORE, Store, StoreLine

STORE_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STORE_ID_RULE: Final = "1-64 characters: lower-case letters, digits, - and _, starting with a letter or digit"
MAX_LINES: Final = 100
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_TIERS: Final = ("silver", "gold", "platinum")
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class StoreNotFound(LookupError):
    pass


class DefaultStoreKept(ValueError):
    """The `default` store holds everything written without a store: it cannot be deleted."""


@dataclass(frozen=True, slots=True)
class LineTaken(Exception):
    line: str
    owner: str

    def __str__(self) -> str:
        return f"line {self.line} belongs to store {self.owner!r}; take it off that store first"


def check_store_id(store_id: str) -> str:
    if not STORE_ID.match(store_id):
        raise ValueError(f"not a store id: {STORE_ID_RULE}")
    return store_id


class StoreLoyalty(BaseModel):
    """Loyalty thresholds in the store's base currency; a tier not given is the settings'."""

    model_config = ConfigDict(extra="forbid")

    silver_orders: int | None = Field(default=None, ge=0, le=1_000_000)
    silver_ltv: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))
    gold_orders: int | None = Field(default=None, ge=0, le=1_000_000)
    gold_ltv: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))
    platinum_orders: int | None = Field(default=None, ge=0, le=1_000_000)
    platinum_ltv: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))


class StoreIn(BaseModel):
    """A store as an operator writes it. Empty fields are the deployment's settings."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    region: str | None = Field(default=None, description="ISO 3166 code national numbers are read in")
    base_currency: str | None = Field(default=None, description="ISO 4217: lifetime value and tiers")
    timezone: str | None = Field(default=None, description="IANA name: the store's days and hours")
    colour: str | None = Field(default=None, description="#rrggbb, beside the store's name on pops")
    order_url_template: str | None = None
    customer_url_template: str | None = None
    case_url_template: str | None = None
    loyalty: StoreLoyalty = Field(default_factory=StoreLoyalty)
    lines: list[Line] = Field(default_factory=list, max_length=MAX_LINES)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else region_code(value)

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else currency_code(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else time_zone_name(value)

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        colour = value.strip().lower()
        if not _COLOUR.match(colour):
            raise ValueError(f"not a colour {value!r}; write it as #rrggbb, e.g. #1f6feb")
        return colour

    @field_validator("order_url_template")
    @classmethod
    def _order_template(cls, value: str | None) -> str | None:
        return order_link_template(value)

    @field_validator("customer_url_template", "case_url_template")
    @classmethod
    def _record_template(cls, value: str | None) -> str | None:
        return record_link_template(value)

    @field_validator("lines")
    @classmethod
    def _no_catch_all(cls, lines: list[str]) -> list[str]:
        if ALL_LINES in lines:
            raise ValueError(f"{ALL_LINES!r} means every line, which no one store has")
        return lines

    @model_validator(mode="after")
    def _one_store_per_line(self) -> StoreIn:
        keys = self.line_keys(self.region or "ZZ")
        if len(set(keys)) != len(keys):
            raise ValueError("lines: a line is given twice (after reading its number)")
        return self

    def line_keys(self, region: str) -> list[str]:
        return [line_key(line, region)[:64] for line in self.lines]


class StoreView(BaseModel):
    """A store as it is in effect: every field filled, from the store or else the settings;
    `inherited` names the fields that come from the settings."""

    id: str
    name: str
    region: str
    base_currency: str
    timezone: str
    colour: str | None
    order_url_template: str | None
    customer_url_template: str | None
    case_url_template: str | None
    loyalty: dict[str, Any]
    lines: list[str]
    inherited: list[str]
    created_at: datetime | None  # None: the default store, never written
    updated_at: datetime | None


_INHERITABLE: Final = (
    "region",
    "base_currency",
    "timezone",
    "order_url_template",
    "customer_url_template",
    "case_url_template",
)


def view_of(store: Store, lines: list[str], settings: Settings) -> StoreView:
    given = (
        StoreLoyalty.model_validate(orjson.loads(store.loyalty_json))
        if store.loyalty_json
        else StoreLoyalty()
    )
    loyalty: dict[str, Any] = {}
    inherited: list[str] = []
    for tier in _TIERS:
        for measure in ("orders", "ltv"):
            name = f"{tier}_{measure}"
            value = getattr(given, name)
            if value is None:
                value = getattr(settings, f"loyalty_{name}")
                inherited.append(f"loyalty.{name}")
            loyalty[name] = str(value) if isinstance(value, Decimal) else value
    # A store's own region gives it that region's time zone: not the setting's.
    inherited += [
        name
        for name in _INHERITABLE
        if getattr(store, name) is None and not (name == "timezone" and store.region)
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
        inherited=sorted(inherited),
        created_at=store.created_at,
        updated_at=store.updated_at,
    )


def _check_tiers(view: StoreView) -> None:
    """Each tier asks for at least what the one below does (else no one would be silver)."""
    loyalty = view.loyalty
    for measure in ("orders", "ltv"):
        values = [Decimal(str(loyalty[f"{tier}_{measure}"])) for tier in _TIERS]
        if values != sorted(values):
            shown = ", ".join(str(value) for value in values)
            raise ValueError(
                f"loyalty: silver_{measure} ≤ gold_{measure} ≤ platinum_{measure} (in effect {shown})"
            )


async def _lines_of(session: AsyncSession, store_id: str) -> list[str]:
    return list(await session.scalars(select(StoreLine.line).where(StoreLine.store_id == store_id)))


DEFAULT_NAME: Final = "Default store"


def _unwritten_default() -> Store:
    """The default store when its row is not there (the migration writes one; a database emptied
    by hand may not have it): all of it the deployment's settings."""
    return Store(id=DEFAULT_STORE, name=DEFAULT_NAME, created_at=None, updated_at=None)


async def list_stores(session: AsyncSession, settings: Settings) -> list[StoreView]:
    stores = list(await session.scalars(select(Store).order_by(Store.id)))
    if all(store.id != DEFAULT_STORE for store in stores):
        stores = sorted([*stores, _unwritten_default()], key=lambda store: store.id)
    lines: dict[str, list[str]] = {}
    for line, store_id in await session.execute(select(StoreLine.line, StoreLine.store_id)):
        lines.setdefault(store_id, []).append(line)
    return [view_of(store, lines.get(store.id, []), settings) for store in stores]


async def get_store(session: AsyncSession, store_id: str, settings: Settings) -> StoreView:
    store = await session.get(Store, store_id)
    if store is None and store_id == DEFAULT_STORE:
        store = _unwritten_default()
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
        "updated_at": now,
    }
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


async def delete_store(session: AsyncSession, store_id: str) -> None:
    if store_id == DEFAULT_STORE:
        raise DefaultStoreKept("the default store holds everything written without a store; it stays")
    store = await session.get(Store, store_id)
    if store is None:
        raise StoreNotFound(store_id)
    await session.execute(delete(StoreLine).where(StoreLine.store_id == store_id))
    await session.delete(store)
