"""What the databases refuse to store, found before anything is written.

PostgreSQL refuses a NUL character in any text value, and both databases keep times in UTC, so a
time whose UTC form falls outside the calendar (year 1 at +14:00, year 9999 at -14:00) cannot be
stored either. Such values must be answered with a 422 that names the field, on every endpoint,
before a transaction starts: otherwise a write fails half-way with a 500, and one such line aborts
a whole import.

`StorableTextMiddleware` checks every request's query string, path and (bounded) JSON or form
body for NUL characters; `utc_representable` is the validator every accepted time passes
through; `nul_path` finds the NUL in an NDJSON line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote

import orjson
from pydantic import AfterValidator, AwareDatetime
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["StorableTextMiddleware", "UTCTimestamp", "json_nul_path", "nul_path", "utc_representable"]

_NUL_MESSAGE = "contains a NUL character, which cannot be stored"
# Bodies larger than this are not buffered here (the routes that accept them bound them
# themselves, and the NDJSON import checks line by line).
_MAX_CHECKED_BODY = 5 * 1024 * 1024
_CHECKED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def utc_representable(value: datetime) -> datetime:
    """The time in UTC, or a ValueError when UTC cannot represent it."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of storable times once converted to UTC") from None


UTCTimestamp = Annotated[AwareDatetime, AfterValidator(utc_representable)]


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here.replace("\x00", "\\u0000")
            if (found := nul_path(item, here)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, f"{path}.{index}" if path else str(index))) is not None:
                return found
    return None


def json_nul_path(body: bytes) -> str | None:
    """Where a JSON document (a body, an NDJSON line) holds a NUL character, or None; None too
    for text that is not JSON, whose own parser words that rejection."""
    # A raw NUL byte is not valid JSON (the JSON parser refuses it with its own 422); a NUL can
    # only arrive escaped, so documents without the escape need no parse here.
    if b"\\u0000" not in body:
        return None
    try:
        return nul_path(orjson.loads(body))
    except orjson.JSONDecodeError:
        return None


def _urlencoded_nul(encoded: bytes) -> str | None:
    """The name of the first field of a form body or query string whose name or value holds a
    NUL character, or None."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    for key, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "\\u0000")
    return None


async def _answer_422(send: Send, where: str, field: str) -> None:
    body = orjson.dumps(
        {
            "error": f"{field}: {_NUL_MESSAGE}",
            "detail": [{"loc": [where, *field.split(".")], "msg": _NUL_MESSAGE, "type": "value_error"}],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StorableTextMiddleware:
    """Answers 422 for a request whose text holds a NUL character, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if "\x00" in unquote(scope.get("raw_path", b"").decode("latin-1")) or "\x00" in scope["path"]:
            await self._refuse(scope, send, "path", "path")
            return
        if (field := _urlencoded_nul(scope.get("query_string", b""))) is not None:
            await self._refuse(scope, send, "query", field)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        declared = headers.get(b"content-length", b"")
        if content_type not in _CHECKED_TYPES or not declared.isdigit() or int(declared) > _MAX_CHECKED_BODY:
            await self.app(scope, receive, send)
            return
        # Buffer the (declared, bounded) body, check it, then replay it to the route unchanged.
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        field = json_nul_path(body) if content_type == "application/json" else _urlencoded_nul(body)
        if field is not None:
            await _answer_422(send, "body", field)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, where: str, field: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": f"{field}: {_NUL_MESSAGE}"[:120]})
            return
        await _answer_422(send, where, field)
