"""What the store platforms' webhooks have in common: the signature, the de-duplication record,
the answer, and reading their loosely typed JSON without ever failing with a 500.

De-duplication follows the house rule: the delivery's key is inserted with ON CONFLICT DO NOTHING
in the same transaction as the writes it causes, and the writes happen only when the insert took.
A delivery whose processing fails rolls its key back with everything else, so the platform's retry
is processed; two concurrent copies of one delivery serialise on the key, and the second does
nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import PrimaryKeyConstraint, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, table_of, upsert_insert
from app.store.schemas import WriteResult
from app.web.auth import secret_matches
from app.web.openapi import secured_by

__all__ = [
    "DELIVERY_RETENTION",
    "MAX_BODY_BYTES",
    "WEBHOOK_RESPONSES",
    "DeliveryOutcome",
    "PayloadError",
    "PlatformDelivery",
    "WebhookAnswer",
    "build",
    "first_delivery",
    "forget_old_deliveries",
    "hmac_sha256_b64",
    "items_of",
    "json_object",
    "optional_decimal",
    "optional_text",
    "optional_time",
    "platform_router",
    "read_body",
    "record_deliveries",
    "required_id",
    "required_time",
    "section",
    "signature_valid",
    "unreadable",
    "webhook_openapi",
]

# Shopify and WooCommerce orders with hundreds of lines stay far below this.
MAX_BODY_BYTES = 5 * 1024 * 1024
# The largest amount a record may carry (schemas.Money); refused here already, so that arithmetic
# on it (currency conversion) never meets a number too large for the decimal context.
_MAX_AMOUNT = Decimal(10) ** 14


class PlatformDelivery(Base):
    """One delivery (or one fact, such as a refund already counted) a platform sent us."""

    __tablename__ = "platform_deliveries"

    platform: Mapped[str] = mapped_column(String(32))
    delivery_key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (PrimaryKeyConstraint("platform", "delivery_key"),)


async def first_delivery(session: AsyncSession, platform: str, key: str, now: datetime) -> bool:
    """Record the key; True when it is new (act on it), False when it was already there."""
    return bool(await record_deliveries(session, platform, [key], now))


# Far longer than a platform keeps retrying a delivery (Shopify: 4 hours), so a forgotten key can
# no longer come back; what it guarded is plain history by then.
DELIVERY_RETENTION = timedelta(days=30)
# One request in this many sweeps the expired keys: the table stays bounded without a scheduler,
# and the sweep is an index range delete that finds little each time.
_SWEEP_ONE_IN = 200


async def forget_old_deliveries(session: AsyncSession, now: datetime, *, always: bool = False) -> None:
    """Delete keys older than the retention, now and then (or `always`)."""
    if always or random.randrange(_SWEEP_ONE_IN) == 0:
        await session.execute(
            delete(PlatformDelivery).where(PlatformDelivery.received_at < now - DELIVERY_RETENTION)
        )


async def record_deliveries(
    session: AsyncSession, platform: str, keys: list[str], now: datetime
) -> list[str]:
    """Record several keys at once; returns the ones that were new."""
    if not keys:
        return []
    table = table_of(PlatformDelivery)
    ins = upsert_insert(session, table)
    rows = await session.execute(
        ins.on_conflict_do_nothing(index_elements=["platform", "delivery_key"]).returning(
            table.c.delivery_key
        ),
        [
            {"platform": platform, "delivery_key": key, "received_at": now}
            for key in dict.fromkeys(k[:255] for k in keys)
        ],
    )
    return list(rows.scalars())


DeliveryOutcome = Literal["applied", "stale", "duplicate", "ignored", "deleted", "erased", "logged"]


class WebhookAnswer(BaseModel):
    """What a platform webhook answers (always 200 once the body was understood)."""

    topic: str
    outcome: DeliveryOutcome
    note: str | None = None
    results: list[WriteResult] = Field(default_factory=list)


def hmac_sha256_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(secret: str, body: bytes, given: str | None) -> bool:
    """Shopify and WooCommerce sign alike: base64 of HMAC-SHA256 over the raw body. Compared in
    constant time, so the answer's timing tells nothing about how close a forgery came."""
    return secret_matches(hmac_sha256_b64(secret, body), (given or "").strip() or None)


async def read_body(request: Request) -> bytes:
    """The raw body (the signature covers its exact bytes), refusing oversized ones early."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "body larger than 5 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "body larger than 5 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


class PayloadError(ValueError):
    """A payload we cannot use; `field` names the culprit, dotted (the platform's own name where
    the mapping reads it, the record's field where validation of the mapped record failed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def unreadable(exc: PayloadError, where: str = "body") -> RequestValidationError:
    """The app's 422 answer (`{"error": "field: problem", "detail": [...]}`), so a webhook names
    the field that is wrong just like the sync API does. Raised, not returned, so the request's
    session rolls back whatever the handler had written."""
    return RequestValidationError(
        [{"loc": (where, *exc.field.split(".")), "msg": exc.message, "type": "value_error"}]
    )


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a PayloadError saying why not."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and bytes that are not UTF-8; absurd nesting raises
        # RecursionError, which must not become a 500.
        raise PayloadError("body", "is not JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("body", "must be a JSON object")
    return value


M = TypeVar("M", bound=BaseModel)


def build(model: type[M], data: dict[str, Any], where: str = "") -> M:
    """Validate a mapped record; a failure names the field (prefixed with `where`)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(part for part in (where, *map(str, first["loc"])) if part) or "body"
        raise PayloadError(field, first["msg"]) from None


def section(payload: dict[str, Any], field: str) -> dict[str, Any]:
    """A nested object, or {} when absent or null; a value of another type is an error."""
    value = payload.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(field, "must be an object")
    return value


def items_of(payload: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """A list of objects, or [] when absent or null."""
    value = payload.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PayloadError(field, "must be a list of objects")
    return value


def optional_text(value: Any, limit: int = 255) -> str | None:
    """Free text as the platform wrote it, blank meaning absent. Numbers become text (a phone may
    arrive as a JSON number); other types carry nothing we could show."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:limit] if text else None


def required_id(payload: dict[str, Any], field: str = "id") -> str:
    """A platform id (JSON number or string) as the text Ringcard keys records by."""
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(field, "is required (the platform's id of the record)")
    text = str(value).strip()
    if not text or len(text) > 255 or (isinstance(value, int) and value <= 0):
        raise PayloadError(field, "is not a usable id")
    return text


def optional_time(payload: dict[str, Any], field: str, *, naive_is_utc: bool = False) -> datetime | None:
    """An ISO 8601 time. WooCommerce's *_gmt fields carry no offset although they are UTC
    (naive_is_utc); anything else without an offset is refused rather than guessed."""
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(field, "must be an ISO 8601 date-time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(field, f"is not an ISO 8601 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise PayloadError(field, "has no UTC offset")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        # Stored in UTC; the first and last days of the calendar cannot always get there.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadError(field, "is out of range") from None


def required_time(payload: dict[str, Any], field: str, *, naive_is_utc: bool = False) -> datetime:
    parsed = optional_time(payload, field, naive_is_utc=naive_is_utc)
    if parsed is None:
        raise PayloadError(field, "is required")
    return parsed


def optional_decimal(payload: dict[str, Any], field: str) -> Decimal | None:
    """Money as the platforms send it: a decimal string (or, from some plugins, a number)."""
    value = payload.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadError(field, "must be a decimal amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(field, f"is not a decimal amount: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise PayloadError(field, "must be a finite amount")
    if abs(amount) >= _MAX_AMOUNT:
        raise PayloadError(field, "is too large")
    return amount


def platform_router() -> APIRouter:
    """Both platforms' webhook routes, for the app to include in one go. Imported here, not at
    module level, because the platform modules import this one."""
    from app.platforms.shopify import routes as shopify
    from app.platforms.woocommerce import routes as woocommerce

    router = APIRouter()
    router.include_router(shopify.router)
    router.include_router(woocommerce.router)
    return router


def webhook_openapi(description: str, *, signature: str, headers: dict[str, str]) -> dict[str, Any]:
    """The request for /openapi.json: FastAPI cannot describe a body read raw for its signature,
    nor the headers read beside it. `signature` names the security scheme (app/web/openapi.py)."""
    return {
        **secured_by(signature),
        "parameters": [
            {"name": name, "in": "header", "description": meaning, "schema": {"type": "string"}}
            for name, meaning in headers.items()
        ],
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    }


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "understood: applied, stale, a duplicate, ignored, deleted, erased or logged"},
    401: {"description": "bad or missing signature: nothing is stored"},
    404: {"description": "not configured: the platform's webhook secret is not set"},
    409: {"description": "a concurrent delivery wrote the same record; the platform's retry applies it"},
    413: {"description": "a body larger than RINGCARD_MAX_BODY_BYTES (1 MiB by default), or than 5 MiB"},
    422: {"description": 'a payload that cannot be used: `{"error": "field: problem", "detail": [...]}`'},
}
