"""The one path every store platform's webhook delivery takes:

    store and its secret → capped body → HMAC → topic → mapped record → delivery key → handler

A platform (app/platforms/<name>/routes.py) gives only what is its own: a `Platform` naming its
headers and its secret, its key rule (how a retry of a delivery is recognised), and a table from
topic to `Topic` (how the payload is mapped, which records are held, what is done). Everything
else is here, once, so that all platforms answer alike:

* The delivery is the store's whose shop its source header names (docs/stores.md), else the
  default store's, and is verified with that store's secret: one shop's secret never passes
  another shop's delivery.
* 404 while that store's secret is not set; 413 for a body over 5 MiB; 401 for a bad signature
  (nothing is read from an unsigned body); 422 naming the field for a body that cannot be used.
* Every body that is understood is answered 200, topics that are not used included: platforms
  disable a webhook that keeps failing.
* The payload is mapped before anything is written, so a payload that cannot be read records
  nothing. The records the handler writes are held next (write_transactions.lock_records), and
  only then is the delivery's key recorded (delivery_keys.py): two copies of one delivery queue on
  the records, and the second finds the key.
* The whole delivery is one store-write transaction, run again from the start on a conflict with a
  concurrent writer; a 409 when it kept conflicting, which the platform retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import HTTPException, Request, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers

from app.db import utcnow
from app.deps import switched_off
from app.integrations import deliveries
from app.platforms.answers import DeliveryOutcome, WebhookAnswer, outcome_of, written
from app.platforms.delivery_keys import first_delivery, forget_old_deliveries
from app.platforms.payloads import PayloadError, json_object, unreadable
from app.settings import Settings
from app.store.schemas import Outcome, RecordOrigin, Target, WriteResult
from app.store.write_transactions import run_write
from app.stores.directory import KnownStore, StoreDirectory
from app.stores.models import DEFAULT_STORE
from app.web.auth import secret_matches

__all__ = [
    "MAX_BODY_BYTES",
    "Delivery",
    "DeliveryKey",
    "Ignored",
    "Platform",
    "Topic",
    "read_body",
    "receive",
    "signature_valid",
]

# Shopify and WooCommerce orders with hundreds of lines stay far below this.
MAX_BODY_BYTES = 5 * 1024 * 1024

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Ignored:
    """What a topic's mapping returns for a payload that names nothing to act on: answered
    `ignored` with this note, and no delivery key is recorded."""

    note: str


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """How a delivery is known again (`value`, at most 255 characters are kept) and what the
    answer to a repeat calls it (`what`: "delivery orders/paid:123", "order 727 in this state")."""

    value: str
    what: str


@dataclass(frozen=True, slots=True)
class Topic(Generic[M]):
    """How one topic is handled. `read` maps the payload (pure, given the topic's name: a table
    entry may serve several); `hold` takes the keys of the records `act` writes, before the
    delivery's key is recorded; `act` writes and answers. `deduplicated=False` for topics whose
    repeat is harmless and whose payload carries nothing to recognise it by."""

    read: Callable[[dict[str, Any], str], M | Ignored]
    act: Callable[[Delivery, M], Awaitable[WebhookAnswer]]
    hold: Callable[[Delivery, M], Awaitable[None]] | None = None
    deduplicated: bool = True


@dataclass(frozen=True, slots=True)
class Platform:
    """A store platform's webhook: what the pipeline needs to know of it."""

    name: str  # "shopify": its delivery keys are filed under it, its log lines start with it
    title: str  # "Shopify", as the answers name it
    setting: str  # the Settings field holding the webhook secret: "shopify_webhook_secret"
    signature_header: str  # carries the base64 HMAC-SHA256 of the raw body
    topic_header: str
    # Topic name → handling; a name ending in "*" serves every topic it is the prefix of.
    topics: Mapping[str, Topic[Any]]
    # The key a mapped delivery is recorded under; None when nothing identifies its repeats.
    delivery_key: Callable[[Delivery, Any], DeliveryKey | None]
    log: logging.Logger
    # The header naming the shop a delivery comes from (X-Shopify-Shop-Domain,
    # X-WC-Webhook-Source), and the store that has that shop, if any: the delivery is that
    # store's, verified with its secret; a shop no store has is the default store's.
    source_header: str
    store_of: Callable[[StoreDirectory, str], KnownStore | None]
    secret_of: Callable[[KnownStore], str | None]
    # The note for a body answered `ignored` without a signature (WooCommerce's activation ping,
    # sent before the secret is in use), or None for every other body.
    ping: Callable[[bytes], str | None] | None = None

    def __post_init__(self) -> None:
        if self.setting not in Settings.model_fields:
            raise ValueError(f"no setting {self.setting!r}")

    def store_and_secret(self, headers: Headers, stores: StoreDirectory) -> tuple[KnownStore, str]:
        """The store a delivery is for and the secret it must be signed with; 404 while that
        store has no secret (its webhooks are switched off, never open)."""
        source = (headers.get(self.source_header) or "").strip()
        claimed = self.store_of(stores, source) if source else None
        store = claimed or stores.default
        secret = self.secret_of(store)
        if not secret:
            if claimed is None:
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND,
                    switched_off(self.setting, f"{self.title} webhooks are switched off"),
                )
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"{self.title} webhooks of store {store.id!r} are switched off: "
                f"set its {self.setting} (PUT /api/v1/stores/{store.id})",
            )
        return store, secret

    @property
    def secret_variable(self) -> str:
        """The environment variable of the secret, which the refusals name."""
        return f"RINGCARD_{self.setting.upper()}"

    def topic(self, name: str) -> Topic[Any] | None:
        found = self.topics.get(name)
        if found is None:
            found = next(
                (t for key, t in self.topics.items() if key.endswith("*") and name.startswith(key[:-1])),
                None,
            )
        return found

    def answer(
        self,
        topic: str,
        outcome: DeliveryOutcome,
        note: str | None = None,
        results: list[WriteResult] | None = None,
    ) -> WebhookAnswer:
        self.log.info("%s %s: %s", self.name, topic, outcome)
        return WebhookAnswer(topic=topic, outcome=outcome, note=note, results=results or [])


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified delivery, as its handlers see it: inside its store-write transaction."""

    platform: Platform
    topic: str
    headers: Headers
    body: bytes
    session: AsyncSession
    store: str  # whose records it writes (external ids are unique per store)
    region: str  # the store's, for numbers written without a country code
    now: datetime

    @property
    def origin(self) -> RecordOrigin:
        """What the records this delivery writes say they came from: the platform (its admin is
        where the card links them)."""
        return RecordOrigin(self.platform.name)

    def answer(
        self, outcome: DeliveryOutcome, note: str | None = None, results: list[WriteResult] | None = None
    ) -> WebhookAnswer:
        return self.platform.answer(self.topic, outcome, note, results)

    @property
    def target(self) -> Target:
        return Target(self.store, self.region)

    def scoped(self, key: str) -> str:
        """A delivery key as this delivery's store records it (see _store_key)."""
        return _store_key(self.store, key)

    def answer_writes(self, outcomes: list[Outcome]) -> WebhookAnswer:
        """The answer to a delivery that wrote these records."""
        results = written(outcomes)
        return self.answer(outcome_of(results), None, results)


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


def _verified_topic(request: Request, platform: Platform, store: KnownStore, secret: str, body: bytes) -> str:
    if not signature_valid(secret, body, request.headers.get(platform.signature_header)):
        with_what = (
            platform.secret_variable
            if store.id == DEFAULT_STORE
            else f"store {store.id!r}'s {platform.setting} (the store of this {platform.source_header})"
        )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"{platform.signature_header} is missing or is not this body's HMAC-SHA256 with {with_what}",
        )
    topic = (request.headers.get(platform.topic_header) or "").strip().lower()
    if not topic:
        raise unreadable(PayloadError(platform.topic_header, "is missing"), "header")
    return topic


async def _handle(delivery: Delivery, payload: dict[str, Any]) -> WebhookAnswer:
    topic = delivery.platform.topic(delivery.topic)
    if topic is None:
        return delivery.answer("ignored", f"topic {delivery.topic} is not used by Ringcard")
    mapped = topic.read(payload, delivery.topic)
    if isinstance(mapped, Ignored):
        return delivery.answer("ignored", mapped.note)
    if topic.hold is not None:
        await topic.hold(delivery, mapped)
    key = delivery.platform.delivery_key(delivery, mapped) if topic.deduplicated else None
    if key is not None and not await first_delivery(
        delivery.session, delivery.platform.name, _store_key(delivery.store, key.value), delivery.now
    ):
        return delivery.answer("duplicate", f"{key.what} was already processed")
    return await topic.act(delivery, mapped)


def _store_key(store: str, key: str) -> str:
    """A delivery key as recorded: another store's deliveries of the same order id are other
    deliveries. The default store's keys are as they were before stores existed, so deliveries
    recorded then are still recognised."""
    return key if store == DEFAULT_STORE else f"{store}/{key}"


async def receive(
    request: Request,
    sessions: async_sessionmaker[AsyncSession],
    stores: StoreDirectory,
    platform: Platform,
) -> WebhookAnswer:
    """Take one delivery of `platform` through the pipeline and answer it."""
    store, secret = platform.store_and_secret(request.headers, stores)
    body = await read_body(request)
    if platform.ping is not None and (note := platform.ping(body)) is not None:
        deliveries.note_what("ping")
        return platform.answer("ping", "ignored", note)
    topic = _verified_topic(request, platform, store, secret, body)
    deliveries.note_what(topic)

    async def handle(session: AsyncSession) -> WebhookAnswer:
        delivery = Delivery(
            platform, topic, request.headers, body, session, store.id, store.view.region, utcnow()
        )
        answer = await _handle(delivery, json_object(body))
        await forget_old_deliveries(session, delivery.now)
        return answer

    try:
        answer = await run_write(sessions, handle)
    except PayloadError as exc:
        raise unreadable(exc) from None
    except IntegrityError:
        # Only after run_write's retries: two deliveries kept racing to create the same record.
        # The platform retries this one, which then finds the record and updates it.
        raise HTTPException(
            status.HTTP_409_CONFLICT, "a concurrent delivery wrote the same record; retry"
        ) from None
    if answer.outcome == "duplicate":
        deliveries.note_duplicate()
    return answer
