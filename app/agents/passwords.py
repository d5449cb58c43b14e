"""Password hashing with Argon2id (argon2-cffi's maintained defaults), on an executor of its own.

Argon2 is slow and memory-hard on purpose (tens of milliseconds of CPU and 64 MiB per hash). Run
in the shared thread pool, a flood of sign-ins once starved the sync dependencies every request
needs and took the process past a gigabyte. Here hashing gets a small pool of its own and a
bounded queue in front of it: whatever arrives beyond the queue is refused at once (the caller
answers 503 with Retry-After) instead of waiting in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verifying an unknown username against this keeps the answer time the same as for a real one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

# One hash at a time per core we may take, leaving the event loop a core of its own on small
# machines; each running hash holds 64 MiB, so this also bounds the memory a flood can cost.
HASHING_THREADS = max(1, min(4, (os.cpu_count() or 2) - 1))
# Sign-ins waiting for a thread beyond this many are refused: a real sign-in waits at most about
# QUEUE_LIMIT / HASHING_THREADS hash times, a flood costs a counter and a 503.
QUEUE_LIMIT = 16

T = TypeVar("T")


def _yield_to_the_event_loop() -> None:
    # Linux schedules threads by their own policy, and the threads Argon2 starts for its lanes
    # inherit it: SCHED_IDLE runs hashing only on CPU time nothing else wants, so a sign-in flood
    # never takes a core from the event loop. (A nice value of 10 still let it double TwiML's p50.)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


_executor = ThreadPoolExecutor(
    max_workers=HASHING_THREADS, thread_name_prefix="argon2", initializer=_yield_to_the_event_loop
)
_in_flight = 0


class HashingBusy(Exception):
    """More password checks are waiting than the queue holds; try again shortly."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hashing_is_full() -> bool:
    """True while a new check would be refused: callers skip the work that would lead up to it."""
    return _in_flight >= QUEUE_LIMIT + HASHING_THREADS


async def _on_hashing_threads(work: Callable[..., T], *args: str | None) -> T:
    global _in_flight
    # The event loop is single-threaded, so this counter needs no lock.
    if hashing_is_full():
        raise HashingBusy
    _in_flight += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_executor, work, *args)
    finally:
        _in_flight -= 1


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; raises HashingBusy when too many checks are waiting."""
    result: bool = await _on_hashing_threads(_verify, password_hash, password)
    return result


async def hash_password_async(password: str) -> str:
    """`hash_password` off the event loop, on the hashing threads (creating or changing agents)."""
    result: str = await _on_hashing_threads(hash_password, password)
    return result
