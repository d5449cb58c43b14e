"""What a store is as an operator writes it (`StoreIn`, through PUT /api/v1/stores/{id} or
`ringcard store put`) and as it is in effect (`StoreView`: each empty field is the deployment's
setting). The writes that keep them are in records.py."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.kit.lines import ALL_LINES, line_key
from app.kit.store_fields import currency_code, region_code, time_zone_name
from app.settings import order_link_template, record_link_template, shopify_handle, woocommerce_site

STORE_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STORE_ID_RULE: Final = "1-64 characters: lower-case letters, digits, - and _, starting with a letter or digit"
MAX_LINES: Final = 100
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
TIERS: Final = ("silver", "gold", "platinum")
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# A webhook secret as the platform shows it; "" takes the store's secret away.
WebhookSecret = Annotated[str, StringConstraints(max_length=255)]


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
    shopify_shop: str | None = Field(default=None, description="its handle or acme.myshopify.com")
    woocommerce_url: str | None = Field(default=None, description="the site, e.g. https://shop.example")
    # Write-only: left out, the stored secret stays; "" removes it. Never shown back.
    shopify_webhook_secret: WebhookSecret | None = None
    woocommerce_webhook_secret: WebhookSecret | None = None

    @field_validator("shopify_shop")
    @classmethod
    def _shop(cls, value: str | None) -> str | None:
        return shopify_handle(value)

    @field_validator("woocommerce_url")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        return woocommerce_site(value)

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
    shopify_shop: str | None
    woocommerce_url: str | None
    shopify_webhook_secret_set: bool
    woocommerce_webhook_secret_set: bool
    inherited: list[str]
    created_at: datetime | None  # None: the default store, never written
    updated_at: datetime | None
