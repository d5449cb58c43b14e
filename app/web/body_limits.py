"""How much of a request body the service will hold: bounded before any route reads it.

Without a bound, six unauthenticated 100 MB posts once took the process to 1.86 GB. A body whose
declared Content-Length is over the limit is refused before a byte of it is read; a body that
streams past the limit (chunked, or lying about its length) is refused as soon as it does, with
nothing of it handed on. Whatever a route does with the interrupted read (some turn any parse
error into their own 400 or 422), the client gets the 413 that names the limit.

The NDJSON import streams are exempt: they are read line by line and bound per line instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, streamed_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed_paths = frozenset(streamed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.streamed_paths:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(receive, send, declared)
            return

        received = 0
        exceeded = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if exceeded:
                # The route answered its own way to the interrupted read: the client hears 413.
                if message["type"] == "http.response.start" and not refused:
                    refused = True
                    await self._refuse(receive, send, None)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not refused:
                await self._refuse(receive, send, None)

    async def _refuse(self, receive: Receive, send: Send, declared: str | None) -> None:
        await _discard_the_rest(receive)
        if declared is not None and not declared.isdigit():
            status, message = 400, "the Content-Length header is not a number"
        else:
            status = 413
            message = f"the request body is larger than {self.max_bytes} bytes (RINGCARD_MAX_BODY_BYTES)"
        body = orjson.dumps({"detail": message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                # The rest of the body is not read: the connection cannot carry another request.
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Read and dropped (never kept) before the refusal goes out: a server that closes a connection
# with unread data makes the kernel reset it, and the client then sees "connection reset"
# instead of the 413. Bounded, so a slow or endless sender cannot hold the request open.
_DISCARD_AT_MOST_BYTES = 64 * 1024 * 1024
_DISCARD_AT_MOST_S = 2.0


async def _discard_the_rest(receive: Receive) -> None:
    discarded = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCARD_AT_MOST_S):
            while discarded < _DISCARD_AT_MOST_BYTES:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                discarded += len(message.get("body", b""))


def _content_length(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return str(value.decode("latin-1").strip())
    return None
