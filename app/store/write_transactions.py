"""Store writes that stay right when many run at once, on every instance behind the balancer.

Every writer of store data (the sync API, the NDJSON import, the Shopify and WooCommerce
webhooks) reads what is stored, decides (is this newer? what does it add to the lifetime value?)
and writes. Two writers of the same record must not both decide from the same old state, so each
write transaction first takes the database's own locks on the records it will touch:

* PostgreSQL: a transaction-scoped advisory lock per record key (`default/order:820982911946154508`,
  `de-shop/customer:c-1`, ...: external ids are unique per store, so the store is in the key),
  taken in one statement in sorted order, so two writers of overlapping
  records queue instead of interleaving, on whichever instance they run. Keys of records that do
  not exist yet lock just the same, which is what makes concurrent first writes of one id queue
  instead of colliding on the unique index. Every writer also holds a shared lock on one store-wide
  key that the set-based bulk import takes exclusively for each of its batches (a batch touches
  thousands of records; taking thousands of advisory locks would exhaust the lock table), and so
  does any other write of more records than a few hundred.
* SQLite: one writer at a time is all SQLite allows anyway; the transaction begins IMMEDIATE, taking
  the writer lock before its first read, so its reads cannot go stale before it commits. (The
  driver on its own begins a transaction only at the first INSERT/UPDATE, which left a writer's
  reads outside its transaction: the lost updates on SQLite.)

Locks taken after the first ones (a writer learns that an order belonged to another customer
only after reading it) can deadlock with another writer in rare interleavings; PostgreSQL breaks a
deadlock by failing one transaction, and `run_write` runs that transaction again from the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeVar

from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.models import Order

__all__ = [
    "STORE_WIDE_LOCK",
    "begin_write",
    "case_key",
    "customer_key",
    "lock_order_and_owner",
    "lock_records",
    "order_key",
    "run_write",
]

log = logging.getLogger("ringcard.store.writes")
T = TypeVar("T")

# The store-wide advisory key: shared by every writer, exclusive for a bulk import batch.
STORE_WIDE_LOCK: Final = 0x52494E4743415244  # "RINGCARD"
# deadlock_detected, serialization_failure, unique_violation (two first inserts that no key
# serialised, e.g. a platform delivery key), lock_not_available.
_RETRYABLE_SQLSTATES: Final = frozenset({"40P01", "40001", "23505", "55P03"})
_ATTEMPTS: Final = 5

_LOCK_KEYS = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger()))
)
_SQLITE_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")
_SHARED_STORE_LOCK = text(f"SELECT pg_advisory_xact_lock_shared({STORE_WIDE_LOCK})")
_EXCLUSIVE_STORE_LOCK = text(f"SELECT pg_advisory_xact_lock({STORE_WIDE_LOCK})")
# Advisory locks live in PostgreSQL's shared lock table (max_locks_per_transaction, 64 per
# connection by default, pooled across all of them): a transaction takes at most this many.
_MAX_RECORD_LOCKS: Final = 256


def customer_key(store: str, external_id: str) -> str:
    return f"{store}/customer:{external_id}"


def order_key(store: str, external_id: str) -> str:
    return f"{store}/order:{external_id}"


def case_key(store: str, external_id: str) -> str:
    return f"{store}/case:{external_id}"


def _advisory_key(key: str) -> int:
    """A signed 64-bit number for a record key. A collision only makes two writers queue."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def begin_write(session: AsyncSession) -> None:
    """Begin the session's transaction as a store write. Must come before anything else the
    transaction does."""
    if session.in_transaction():
        raise RuntimeError("begin_write must begin the transaction: this session already has one")
    if _is_postgresql(session):
        await session.execute(_SHARED_STORE_LOCK)
    else:
        # The driver sees a transaction already open and issues no BEGIN of its own; commit and
        # rollback end this one.
        await session.execute(_SQLITE_BEGIN_IMMEDIATE)


async def lock_records(session: AsyncSession, keys: Iterable[str]) -> None:
    """Hold these records (see the module's docstring) until the transaction ends. Taking a key the
    transaction already holds again is free of waiting."""
    if not _is_postgresql(session):
        return  # The IMMEDIATE transaction holds the whole database already.
    advisory = sorted({_advisory_key(key) for key in keys})
    if len(advisory) > _MAX_RECORD_LOCKS:
        # A batch this large holds the whole store instead, as a bulk import batch does.
        await session.execute(_EXCLUSIVE_STORE_LOCK)
    elif advisory:
        await session.execute(_LOCK_KEYS, {"keys": advisory})


async def lock_order_and_owner(session: AsyncSession, store: str, external_id: str) -> None:
    """Hold the order and the customer it belongs to now: a write that changes an order's totals
    changes its customer's aggregates too. The owner is learnt by reading, so its key comes second
    (the late lock the module's docstring speaks of)."""
    await lock_records(session, [order_key(store, external_id)])
    owner = await session.scalar(
        select(Order.customer_external_id).where(Order.store_id == store, Order.external_id == external_id)
    )
    if owner is not None:
        await lock_records(session, [customer_key(store, owner)])


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


async def run_write(
    sessionmaker: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run `work` in a store-write transaction of its own and commit it; run it again from the start
    when the database aborted it for a conflict with a concurrent writer (it changed nothing)."""
    for attempt in range(1, _ATTEMPTS + 1):
        # Leaving the block without a commit rolls the transaction back (the session closes).
        async with sessionmaker() as session:
            try:
                await begin_write(session)
                result = await work(session)
                await session.commit()
                return result
            except DBAPIError as exc:
                if attempt == _ATTEMPTS or not _retryable(exc):
                    raise
                sqlstate = getattr(exc.orig, "sqlstate", None)
                log.info(
                    "store write conflicted with a concurrent one (%s); attempt %d", sqlstate, attempt + 1
                )
        # A short random pause, so writers that just conflicted do not meet again at once.
        await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
    raise AssertionError("unreachable")
