"""Reading the platforms' loosely typed JSON without ever failing with a 500: every problem is a
PayloadError naming the field, which the pipeline answers 422 (the sync API's error shape)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = [
    "PayloadError",
    "build",
    "items_of",
    "json_object",
    "optional_decimal",
    "optional_text",
    "optional_time",
    "phones_of",
    "quantity",
    "required_id",
    "required_time",
    "section",
    "unreadable",
]

# The largest amount a record may carry (schemas.Money); refused here already, so that arithmetic
# on it (currency conversion) never meets a number too large for the decimal context.
_MAX_AMOUNT = Decimal(10) ** 14


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


def quantity(line: dict[str, Any]) -> int:
    """A line item's quantity; anything but a whole number counts as none."""
    value = line.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), 1_000_000)


def phones_of(
    sources: Iterable[tuple[str, Any]], text: Callable[[Any, int], str | None] = optional_text
) -> list[dict[str, str]]:
    """The phone entries (`{"number", "kind"}`) of the numbers written among (kind, value) pairs,
    read by `text` (a platform's own reading of free text)."""
    return [{"number": number, "kind": kind} for kind, raw in sources if (number := text(raw, 64))]
