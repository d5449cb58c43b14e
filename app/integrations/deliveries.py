"""What each request from an integration came to: accepted, a duplicate, rejected (and why) or
failed on our side, noted as the answer goes out and handed to the recorder (recorder.py).

`DeliveryMiddleware` sees every request to an integration's routes (the provider webhooks, the
PBX lookups, the platform webhooks, the store sync API's writes; which integration a path belongs
to is in sources.py) and classifies it by its answer:

| answer | outcome |
|---|---|
| 2xx, 3xx | `accepted`, or `duplicate` when the handler or the call intake said so |
| 401, 403, 404 (route switched off or unknown), 413, other 4xx | `rejected`, with a reason |
| 409, 429, 5xx, an exception | `failed`: our side could not take it now; the sender retries |

Handlers add what only they know through the helpers here (they act on the request's own
`Delivery`, found through a context variable, and do nothing outside a request): why a signature
failed (`note_rejection`: a Twilio URL mismatch behind a proxy, a stale Telnyx timestamp), that a
delivery repeated one already processed (`note_duplicate`), what it was (`note_what`: a topic, a
call event). Work that finishes after the answer (Twilio's TwiML answers before the event is
recorded) holds the delivery open (`hold`) until it knows whether it was a duplicate.

Nothing here does I/O: noting a delivery is a few dictionary updates on the event loop; the
recorder writes them to the database in the background.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import utcnow
from app.integrations.sources import BY_NAME, shown_path, source_of
from app.kit.log_redaction import scrub_text

__all__ = [
    "Delivery",
    "DeliveryMiddleware",
    "Outcome",
    "Reason",
    "current",
    "hold",
    "note_duplicate",
    "note_rejection",
    "note_what",
]

log = logging.getLogger("ringcard.integrations")

WHAT_MAX = 120
DETAIL_MAX = 300
# How much of a refusal's body is read for its message (the error JSON is far smaller).
_ERROR_BODY_MAX = 4096


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"


class Reason(StrEnum):
    """Why a delivery was rejected. The first four are signature or key failures (AUTH_REASONS)."""

    MISSING_SIGNATURE = "missing_signature"  # no signature, token or key at all
    WRONG_SECRET = "wrong_secret"  # noqa: S105 - a reason's name: a signature or key that does not match
    WRONG_URL = "wrong_url"  # Twilio: signed for another URL (a proxy's scheme or host)
    STALE_TIMESTAMP = "stale_timestamp"  # Telnyx: validly signed, but not within 300 s of our clock
    NOT_CONFIGURED = "not_configured"  # the integration is switched off (its secret is unset)
    NOT_FOUND = "not_found"  # a path under the integration's prefix that does not exist
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"  # 400, 422: the message names the field


AUTH_REASONS = frozenset(
    {Reason.MISSING_SIGNATURE, Reason.WRONG_SECRET, Reason.WRONG_URL, Reason.STALE_TIMESTAMP}
)


class Noter(Protocol):
    def note(self, delivery: Delivery) -> None: ...


@dataclass(slots=True, eq=False)
class Delivery:
    """One request from an integration, until its outcome is known."""

    source: str
    at: datetime
    what: str
    noter: Noter | None
    credential_given: bool
    duplicate: bool = False
    reason: Reason | None = None
    detail: str | None = None
    status: int | None = None
    outcome: Outcome | None = None
    _holds: int = 0
    _answered: bool = False
    _settled: bool = False

    def hold(self) -> Delivery:
        """Keep the outcome open for work that finishes after the answer; `release` it then."""
        self._holds += 1
        return self

    def release(self, *, duplicate: bool = False) -> None:
        self.duplicate = self.duplicate or duplicate
        self._holds -= 1
        self._settle()

    def answered(self, status: int, error: str | None = None) -> None:
        """The answer went out (or the app raised: status 500)."""
        if self._answered:
            return
        self._answered = True
        self.status = status
        self.outcome, reason = _classify(status, self.duplicate)
        if self.outcome is Outcome.REJECTED:
            if self.reason is None:
                self.reason = reason
                if status in (401, 403) and not self.credential_given:
                    self.reason = Reason.MISSING_SIGNATURE
            if self.detail is None and self.reason is Reason.WRONG_SECRET:
                self.detail = BY_NAME[self.source].wrong
            elif self.detail is None and self.reason is Reason.MISSING_SIGNATURE:
                self.detail = BY_NAME[self.source].missing
            elif self.detail is None and error:
                self.detail = scrub_text(error)[:DETAIL_MAX]
        self._settle()

    @property
    def auth_failure(self) -> bool:
        return self.outcome is Outcome.REJECTED and self.reason in AUTH_REASONS

    def _settle(self) -> None:
        if self._settled or not self._answered or self._holds > 0:
            return
        self._settled = True
        if self.duplicate and self.outcome is Outcome.ACCEPTED:
            self.outcome = Outcome.DUPLICATE
        if self.noter is None:
            return
        try:
            self.noter.note(self)
        except Exception:  # the status is a by-product: it never fails the delivery itself
            log.exception("integration status: a %s delivery could not be noted", self.source)


def _classify(status: int, duplicate: bool) -> tuple[Outcome, Reason | None]:
    if status < 400:
        return (Outcome.DUPLICATE if duplicate else Outcome.ACCEPTED), None
    if status in (409, 429) or status >= 500:
        return Outcome.FAILED, None
    if status in (401, 403):
        return Outcome.REJECTED, Reason.WRONG_SECRET
    if status == 404:
        return Outcome.REJECTED, Reason.NOT_FOUND
    if status == 413:
        return Outcome.REJECTED, Reason.TOO_LARGE
    return Outcome.REJECTED, Reason.MALFORMED


_current: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("ringcard_delivery", default=None)


def current() -> Delivery | None:
    """The delivery the running request is, if it comes from an integration."""
    return _current.get()


def note_rejection(reason: Reason, detail: str) -> None:
    """Why the request is about to be refused (the refusal itself still sets the status)."""
    delivery = _current.get()
    if delivery is not None:
        delivery.reason = reason
        delivery.detail = detail[:DETAIL_MAX]


def note_duplicate() -> None:
    delivery = _current.get()
    if delivery is not None:
        delivery.duplicate = True


def note_what(what: str) -> None:
    """What the delivery was, for "last event": a topic, a call event. Never personal data."""
    delivery = _current.get()
    if delivery is not None and what:
        delivery.what = what[:WHAT_MAX]


def hold() -> Delivery | None:
    delivery = _current.get()
    return delivery.hold() if delivery is not None else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _credential_given(source: str, scope: Scope) -> bool:
    if source == "pbx":  # a Bearer token or ?token=
        return _header(scope, b"authorization") is not None or b"token=" in scope.get("query_string", b"")
    header = BY_NAME[source].credential_header
    # The generic CTI's token is part of its path: never missing.
    return header is None or bool((_header(scope, header.encode()) or b"").strip())


def _error_text(body: bytes, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The message of a refusal: the JSON `error`/`detail`, or a PBX's X-Ringcard-Error."""
    for key, value in headers:
        if key.lower() == b"x-ringcard-error":
            return value.decode("latin-1")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text or None
    if isinstance(parsed, dict):
        for name in ("error", "detail"):
            message = parsed.get(name)
            if isinstance(message, str) and message:
                return message
    return None


class DeliveryMiddleware:
    """Pure ASGI (no task per request): the request passes through untouched; only the status and,
    for a refusal, the first bytes of the answer are looked at on their way out."""

    def __init__(self, app: ASGIApp, noter: Callable[[Scope], Noter | None]) -> None:
        self.app = app
        self.noter = noter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method: str = scope["method"]
        source = source_of(method, path)
        if source is None:
            await self.app(scope, receive, send)
            return
        delivery = Delivery(
            source=source,
            at=utcnow(),
            what=f"{method} {shown_path(source, path)}",
            noter=self.noter(scope),
            credential_given=_credential_given(source, scope),
        )
        token = _current.set(delivery)
        status = 500
        error_body = bytearray()
        error_headers: list[tuple[bytes, bytes]] = []
        capture = False

        async def watching_send(message: Message) -> None:
            nonlocal status, capture, error_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                capture = 400 <= status < 500
                if capture:
                    error_headers = list(message.get("headers", ()))
            elif message["type"] == "http.response.body" and capture and len(error_body) < _ERROR_BODY_MAX:
                error_body.extend(message.get("body", b"")[: _ERROR_BODY_MAX - len(error_body)])
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            _current.reset(token)
            error = _error_text(bytes(error_body), error_headers) if capture else None
            if status == 404 and delivery.reason is None and not _switched_on(scope, source):
                delivery.reason = Reason.NOT_CONFIGURED
            delivery.answered(status, error)


def _switched_on(scope: Scope, source: str) -> bool:
    settings = getattr(scope["app"].state, "settings", None)
    return settings is None or bool(getattr(settings, BY_NAME[source].setting, None))
