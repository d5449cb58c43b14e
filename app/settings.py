"""Configuration: environment variables with the RINGCARD_ prefix, also read from a `.env` file."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.kit.store_fields import currency_code, region_code, time_zone_name, zone_of_region
from app.kit.url_templates import WEB_SCHEMES, check_template

# Values that show up in copy-pasted examples; refusing them in production stops a
# "works on my machine" secret from ever guarding a real store.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "test", "example", "xxx"})


# The async drivers the service is built and tested on.
DATABASE_DRIVERS = frozenset({"postgresql+asyncpg", "sqlite+aiosqlite"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class TwilioRouting(StrEnum):
    CLIENTS = "clients"  # ring the online agents of the line as <Client>s
    ENQUEUE = "enqueue"  # put the caller in a Twilio queue named after the line
    FORWARD = "forward"  # forward to RINGCARD_TWILIO_FORWARD_TO


# What each link template may use (docs/store-platforms.md#links-to-the-stores-admin).
ORDER_PLACEHOLDERS = frozenset({"external_id", "number"})
RECORD_PLACEHOLDERS = frozenset({"external_id"})
CALLBACK_PLACEHOLDERS = frozenset({"e164", "digits", "national"})
# Softphones take tel:, sip:, sips: or callto: links; some CRMs and web phones a web page.
CALLBACK_SCHEMES = frozenset({"tel", "sip", "sips", "callto"}) | WEB_SCHEMES
_SHOPIFY_HANDLE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def shopify_handle(value: str | None) -> str | None:
    """A Shopify store's handle, the part of admin.shopify.com/store/<handle> (and of
    <handle>.myshopify.com, the X-Shopify-Shop-Domain of its webhooks) its admin links need:
    RINGCARD_SHOPIFY_SHOP's and a store's (app/stores). ValueError for anything else."""
    if value is None or not value.strip():
        return None
    shop = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    shop = shop.removeprefix("admin.shopify.com/store/").removesuffix(".myshopify.com")
    if not _SHOPIFY_HANDLE.match(shop):
        raise ValueError(
            "not a Shopify store: give its handle (acme) or its myshopify.com domain "
            "(acme.myshopify.com), not a custom domain"
        )
    return shop


def woocommerce_site(value: str | None) -> str | None:
    """A WooCommerce site's address (where /wp-admin/ is), without its trailing slash: as
    RINGCARD_WOOCOMMERCE_URL and a store give it, and as X-WC-Webhook-Source names it."""
    from urllib.parse import urlsplit

    if value is None or not value.strip():
        return None
    site = value.strip().rstrip("/")
    try:
        parts = urlsplit(site)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in WEB_SCHEMES
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in site)
    ):
        raise ValueError(
            "not the site's address: use https://shop.example (where /wp-admin/ is), " "without a query"
        )
    return site


def order_link_template(value: str | None) -> str | None:
    """An order link template (RINGCARD_ORDER_URL_TEMPLATE, a store's): checked, or TemplateError."""
    return check_template(value, placeholders=ORDER_PLACEHOLDERS, schemes=WEB_SCHEMES)


def record_link_template(value: str | None) -> str | None:
    """A customer's or case's link template: checked, or TemplateError."""
    return check_template(value, placeholders=RECORD_PLACEHOLDERS, schemes=WEB_SCHEMES)


class WooCommerceOrdersUi(StrEnum):
    HPOS = "hpos"  # High-Performance Order Storage, the default since WooCommerce 8.2
    POSTS = "posts"  # orders stored as WordPress posts (the legacy screens)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RINGCARD_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    demo: bool = False  # `ringcard serve --demo`: the console offers "Simulate a call"
    database_url: str = "sqlite+aiosqlite:///./ringcard.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # `ringcard serve` and `migrate` wait this long for a database that does not answer yet (a
    # container started before its database), then give up with one line.
    db_wait_s: float = Field(default=30, ge=0, le=3600)
    redis_url: str | None = None
    public_url: str | None = None
    default_region: str = "PL"
    base_currency: str = "PLN"
    host: str = "127.0.0.1"
    port: int = 8000

    secret_key: str | None = None  # signs agent tokens; generated and kept in the database when unset
    token_ttl_s: int = Field(default=12 * 3600, ge=60)
    sync_api_key: str | None = None
    admin_api_key: str | None = None
    twilio_auth_token: str | None = None
    telnyx_public_key: str | None = None
    cti_token: str | None = None
    shopify_webhook_secret: str | None = None
    woocommerce_webhook_secret: str | None = None
    # When set, GET /metrics wants `Authorization: Bearer <token>`; unset, it is open as before.
    metrics_token: str | None = None

    cti_blocked_numbers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cti_outbound_routes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cti_default_caller_id: str | None = None

    twilio_routing: TwilioRouting = TwilioRouting.CLIENTS
    twilio_forward_to: str | None = None

    # Links out of the card (docs/store-platforms.md#links-to-the-stores-admin): the store's admin
    # for records its webhooks wrote, templates for records the sync API wrote, and the
    # click-to-call link of a caller.
    shopify_shop: str | None = None  # "acme" or "acme.myshopify.com"
    woocommerce_url: str | None = None  # the site, e.g. https://shop.example
    woocommerce_orders_ui: WooCommerceOrdersUi = WooCommerceOrdersUi.HPOS
    order_url_template: str | None = None  # {external_id}, {number}
    customer_url_template: str | None = None  # {external_id}
    case_url_template: str | None = None  # {external_id}; a case's own `url` comes first
    callback_url_template: str = "tel:{e164}"  # {e164}, {digits}, {national}

    # Matching and the card.
    suffix_match_digits: int = Field(default=9, ge=7, le=15)
    wismo_days: int = Field(default=5, ge=1)
    recent_order_hours: int = Field(default=24, ge=1)
    loyalty_silver_orders: int = 3
    loyalty_silver_ltv: Decimal = Decimal("500")
    loyalty_gold_orders: int = 10
    loyalty_gold_ltv: Decimal = Decimal("2000")
    loyalty_platinum_orders: int = 25
    loyalty_platinum_ltv: Decimal = Decimal("10000")
    high_returns_ratio: float = Field(default=0.3, ge=0, le=1)

    # Sign-in limits (`/auth/token`): attempts per client address per minute, and failed attempts
    # per username per window; shared through Redis when it is configured.
    sign_in_per_address_per_minute: int = Field(default=30, ge=1)
    sign_in_failures_per_username: int = Field(default=10, ge=1)
    sign_in_failure_window_s: int = Field(default=900, ge=1)

    # Sockets one agent may keep open on one process; one more closes the oldest (4409).
    max_sockets_per_agent: int = Field(default=5, ge=1, le=100)

    # A ringing call with no event for this long is ended as missed (cause `no_final_event`);
    # an answered one with no hang-up for `call_timeout_s` is closed likewise.
    ring_timeout_s: float = Field(default=180, gt=0, le=24 * 3600)
    call_timeout_s: float = Field(default=4 * 3600, gt=0, le=7 * 24 * 3600)

    # Call events kept in memory while the database is unreachable (then webhooks answer 503).
    call_event_buffer: int = Field(default=10_000, ge=0)
    # Request bodies larger than this are refused with 413 (the NDJSON import is bound per line).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    import_batch_size: int = Field(default=2000, ge=1, le=20000)
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    # After the call (docs/summaries.md): transcripts in, an AI summary the agent approves.
    # Any OpenAI-compatible /v1/chat/completions endpoint (Ollama, vLLM, llama.cpp's server, a hosted
    # API); `serve --demo` starts the embedded local model when the [ai] extra is installed.
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:11434/v1
    llm_model: str = "local"
    llm_api_key: str | None = None
    llm_timeout_s: float = Field(default=60, gt=0, le=600)
    # The language summaries are written in (an agent may ask for a draft in theirs).
    summary_language: str = "en"
    # Any OpenAI-compatible /v1/audio/transcriptions endpoint, for recordings without a transcript.
    stt_base_url: str | None = None
    stt_model: str = "whisper-1"
    stt_api_key: str | None = None
    stt_timeout_s: float = Field(default=300, gt=0, le=3600)
    # Offer Twilio real-time transcription (<Start><Transcription>) in the voice TwiML.
    twilio_transcribe: bool = False
    # Transcripts older than this are deleted (summaries stay); unset keeps them.
    transcript_retention_days: int | None = Field(default=None, ge=1)
    # How many transcription/summary jobs one instance runs at once, and how often each is tried.
    ai_concurrency: int = Field(default=1, ge=1, le=32)
    ai_max_attempts: int = Field(default=3, ge=1, le=10)
    ai_retry_backoff_s: float = Field(default=15, ge=0, le=3600)  # doubled after each attempt

    # Insights (docs/kpis.md): the store's time zone (default: the region's), the service-level
    # target and what counts as a caller hanging up too soon to be served.
    timezone: str | None = None
    service_level_s: float = Field(default=20, gt=0, le=3600)
    short_abandon_s: float = Field(default=5, ge=0, le=600)

    # `text`: one line per event (time, level, logger, message); `json`: one JSON object per line.
    log_format: Literal["text", "json"] = "text"
    # Keep what startup built out of later garbage collections (shorter pauses in the pop tail).
    # Tests turn it off: frozen objects are invisible to gc.get_referrers, which tools rely on.
    gc_freeze: bool = True

    _split_blocked = field_validator("cti_blocked_numbers", "cti_outbound_routes", mode="before")(_split_csv)

    @field_validator("database_url")
    @classmethod
    def _async_driver_url(cls, value: str) -> str:
        # Said here, as a bad setting, rather than as a driver that fails to import later. The
        # message never repeats the value: it may hold the database's password.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(value).drivername
        except (ArgumentError, ValueError):
            driver = None
        if driver not in DATABASE_DRIVERS:
            raise ValueError(
                "not a database URL this service can use; use postgresql+asyncpg://USER[:PASSWORD]@HOST"
                "[:PORT]/DATABASE or sqlite+aiosqlite:///PATH"
            )
        return value

    @field_validator("default_region")
    @classmethod
    def _region_upper(cls, value: str) -> str:
        return region_code(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else time_zone_name(value)

    @property
    def store_timezone(self) -> str:
        """RINGCARD_TIMEZONE, else the region's (its example number's zone: Europe/Warsaw for PL)."""
        return self.timezone or zone_of_region(self.default_region)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {value!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("base_currency")
    @classmethod
    def _currency_upper(cls, value: str) -> str:
        return currency_code(value)

    @field_validator("shopify_shop")
    @classmethod
    def _shopify_handle(cls, value: str | None) -> str | None:
        return shopify_handle(value)

    @field_validator("woocommerce_url")
    @classmethod
    def _woocommerce_site(cls, value: str | None) -> str | None:
        return woocommerce_site(value)

    @field_validator("order_url_template")
    @classmethod
    def _order_template(cls, value: str | None) -> str | None:
        return order_link_template(value)

    @field_validator("customer_url_template", "case_url_template")
    @classmethod
    def _record_template(cls, value: str | None) -> str | None:
        return record_link_template(value)

    @field_validator("callback_url_template")
    @classmethod
    def _callback_template(cls, value: str) -> str:
        checked = check_template(value, placeholders=CALLBACK_PLACEHOLDERS, schemes=CALLBACK_SCHEMES)
        if checked is None:
            raise ValueError("must be a link such as tel:{e164} or sip:{e164}@pbx.example")
        return checked

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self
        if not self.secret_key or len(self.secret_key) < 32:
            raise ValueError("RINGCARD_SECRET_KEY must be set to at least 32 characters in production")
        for name in (
            "secret_key",
            "sync_api_key",
            "admin_api_key",
            "twilio_auth_token",
            "cti_token",
            "shopify_webhook_secret",
            "woocommerce_webhook_secret",
            "metrics_token",
        ):
            value = getattr(self, name)
            if value is not None and (value.lower() in PLACEHOLDER_SECRETS or len(value) < 12):
                raise ValueError(f"RINGCARD_{name.upper()} looks like a placeholder; use a long random value")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
