"""How often `/auth/token` may be tried: per client address and per username.

Two fixed windows, both checked before any password is hashed, so a refused attempt costs a
counter and never an Argon2 run:

- every attempt from one client address counts (a flood from one place stops at once);
- only failed attempts count against a username (guessing one agent's password from many
  addresses stops too, and the agent signing in correctly is never locked out by their own
  successful sign-ins).

With Redis configured the counters live there, so all instances behind a load balancer share
them; without it (or while Redis is away) each process counts for itself. Usernames are hashed
before they become keys: the counter store is not a place for personal data.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("ringcard.agents")

_KEY_PREFIX = "ringcard:sign-in"


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused and when the window that refused it ends."""

    reason: str
    retry_after_s: int


class _Counters:
    """Fixed-window counters in this process; old windows are pruned as time moves on."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # (key, window length, window number) -> attempts
        self._counts: dict[tuple[str, int, int], int] = {}
        self._pruned_at = 0.0

    def peek(self, key: str, window: Window) -> tuple[int, int]:
        slot, ends_in = _slot(self._clock(), window)
        return self._counts.get((key, window.seconds, slot), 0), ends_in

    def add(self, key: str, window: Window) -> tuple[int, int]:
        now = self._clock()
        self._prune(now)
        slot, ends_in = _slot(now, window)
        name = (key, window.seconds, slot)
        self._counts[name] = count = self._counts.get(name, 0) + 1
        return count, ends_in

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < 60:
            return
        self._pruned_at = now
        self._counts = {name: count for name, count in self._counts.items() if (name[2] + 1) * name[1] > now}


def _slot(now: float, window: Window) -> tuple[int, int]:
    slot = int(now // window.seconds)
    ends_in = max(1, math.ceil((slot + 1) * window.seconds - now))
    return slot, ends_in


class SignInLimits:
    def __init__(
        self,
        per_address: Window,
        failures_per_username: Window,
        *,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_address = per_address
        self.failures_per_username = failures_per_username
        self._redis = redis
        self._local = _Counters(clock)
        self._clock = clock
        self._redis_failed_at = 0.0

    async def attempt(self, address: str, username: str) -> Refusal | None:
        """Count an attempt from `address` for `username`; a Refusal when either is over its limit."""
        count, ends_in = await self._add(f"addr:{address}", self.per_address)
        if count > self.per_address.limit:
            return Refusal("too many sign-in attempts from this address", ends_in)
        failures, ends_in = await self._peek(_user_key(username), self.failures_per_username)
        if failures >= self.failures_per_username.limit:
            return Refusal("too many failed sign-ins for this username", ends_in)
        return None

    async def failed(self, username: str) -> None:
        await self._add(_user_key(username), self.failures_per_username)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    # --- storage -------------------------------------------------------------------------------

    async def _add(self, key: str, window: Window) -> tuple[int, int]:
        if self._redis_usable():
            assert self._redis is not None
            slot, ends_in = _slot(self._clock(), window)
            name = f"{_KEY_PREFIX}:{key}:{window.seconds}:{slot}"
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(name)
                    pipe.expire(name, window.seconds + 1, nx=True)
                    count, _ = await pipe.execute()
                return int(count), ends_in
            except (RedisError, OSError) as exc:
                self._redis_away(exc)
        return self._local.add(key, window)

    async def _peek(self, key: str, window: Window) -> tuple[int, int]:
        if self._redis_usable():
            assert self._redis is not None
            slot, ends_in = _slot(self._clock(), window)
            try:
                value = await self._redis.get(f"{_KEY_PREFIX}:{key}:{window.seconds}:{slot}")
                return int(value or 0), ends_in
            except (RedisError, OSError) as exc:
                self._redis_away(exc)
        return self._local.peek(key, window)

    def _redis_usable(self) -> bool:
        # After a Redis failure, count locally for a few seconds instead of paying a timeout on
        # every sign-in; then try Redis again.
        return self._redis is not None and self._clock() - self._redis_failed_at > 5.0

    def _redis_away(self, exc: Exception) -> None:
        if self._clock() - self._redis_failed_at > 60:
            log.warning("sign-in limits counted in this process: Redis failed (%s)", type(exc).__name__)
        self._redis_failed_at = self._clock()


def _user_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"user:{digest}"


def sign_in_limits(settings: Settings) -> SignInLimits:
    redis = None
    if settings.redis_url:
        # Short timeouts: a sign-in waits on this; while Redis is slow the limits count locally.
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return SignInLimits(
        Window(settings.sign_in_per_address_per_minute, 60),
        Window(settings.sign_in_failures_per_username, settings.sign_in_failure_window_s),
        redis=redis,
    )
