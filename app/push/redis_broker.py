"""Redis pub/sub between instances, with its own reconnection.

Two tasks: a listener that (re)subscribes with backoff and hands every message to the hub, and a
publisher that drains an outbox in order. `publish` only appends to the outbox, so a call event is
never held up by Redis: the hub has delivered to its own agents before publishing, and while Redis
is away the outbox keeps the newest messages and sends them once it is back.

The channel is named after the Redis database index in the URL (`ringcard:push:<db>`): pub/sub
ignores database indexes, and this way two deployments on one Redis stay apart exactly as their
keys do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from contextlib import suppress

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.push.broker import BrokerListener
from app.push.metrics import BROKER_OUTBOX_DROPS, BROKER_PUBLISH_FAILURES, BROKER_RESUBSCRIPTIONS

log = logging.getLogger("ringcard.push.redis")

_REDIS_DOWN = (RedisError, OSError, TimeoutError)

# Backoff between reconnection attempts: quick first retries (a restart takes well under a
# second), capped low so agents get their pops back within a couple of seconds of Redis.
_BACKOFF_FIRST_S = 0.05
_BACKOFF_MAX_S = 1.0

# A subscribed connection is silent when no calls ring; ping it to notice a dead peer that never
# sent a FIN (a network partition), and give up on it when nothing comes back.
_POLL_S = 1.0
_PING_AFTER_S = 5.0
_DEAD_AFTER_S = 15.0


class _Backoff:
    def __init__(self) -> None:
        self._next = _BACKOFF_FIRST_S

    def reset(self) -> None:
        self._next = _BACKOFF_FIRST_S

    def delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, _BACKOFF_MAX_S)
        # Jitter, so that every instance does not hammer a Redis that just came back in lockstep.
        return delay * (1 + random.random() / 4)


def channel_for(client: Redis) -> str:
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return f"ringcard:push:{db}"


class RedisBroker:
    def __init__(
        self,
        url: str,
        *,
        channel: str | None = None,
        outbox_limit: int = 10_000,
        first_subscribe_timeout_s: float = 5.0,
    ) -> None:
        self._client: Redis = Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, socket_keepalive=True
        )
        self.channel = channel or channel_for(self._client)
        self._outbox: deque[bytes] = deque()
        self._outbox_limit = outbox_limit
        self._outbox_ready = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._first_subscribe_timeout_s = first_subscribe_timeout_s
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, listener: BrokerListener) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(listener), name="push-redis-listener"),
            asyncio.create_task(self._publish_outbox(), name="push-redis-publisher"),
        ]
        # Serve only once wired, when Redis is there; when it is not, serve anyway (pops stay local
        # to this instance) and keep trying in the background. /readyz tells the operator.
        try:
            async with asyncio.timeout(self._first_subscribe_timeout_s):
                await self._subscribed.wait()
        except TimeoutError:
            log.warning("Redis is not reachable yet; pops stay on this instance until it is")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._subscribed.clear()
        with suppress(*_REDIS_DOWN):
            await self._client.aclose()

    async def publish(self, data: bytes) -> None:
        if len(self._outbox) >= self._outbox_limit:
            self._outbox.popleft()  # the oldest goes: newer events supersede it for any live call
            BROKER_OUTBOX_DROPS.inc()
        self._outbox.append(data)
        self._outbox_ready.set()

    async def healthy(self) -> bool:
        if not self._subscribed.is_set():
            return False
        try:
            async with asyncio.timeout(1.0):
                await self._client.ping()
        except _REDIS_DOWN:
            return False
        return True

    async def _publish_outbox(self) -> None:
        backoff = _Backoff()
        failing = False
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                data = self._outbox[0]
                try:
                    await self._client.publish(self.channel, data)
                except _REDIS_DOWN as exc:
                    BROKER_PUBLISH_FAILURES.inc()
                    if not failing:
                        log.warning("cannot publish to Redis (%s); retrying", exc)
                        failing = True
                    await asyncio.sleep(backoff.delay())
                    continue
                if failing:
                    log.info("publishing to Redis again")
                    failing = False
                backoff.reset()
                # While we awaited, a full outbox may have dropped this very message.
                if self._outbox and self._outbox[0] is data:
                    self._outbox.popleft()
            self._outbox_ready.clear()

    async def _listen(self, listener: BrokerListener) -> None:
        backoff = _Backoff()
        was_subscribed = False
        while True:
            pubsub = self._client.pubsub()
            try:
                await self._subscribe(pubsub)
                self._subscribed.set()
                backoff.reset()
                if was_subscribed:
                    BROKER_RESUBSCRIPTIONS.inc()
                    log.info("resubscribed to Redis channel %s", self.channel)
                listener.on_broker_subscribed(resubscribed=was_subscribed)
                was_subscribed = True
                await self._pump(pubsub, listener)
            except _REDIS_DOWN as exc:
                if self._subscribed.is_set():
                    log.warning("lost the Redis subscription (%s); resubscribing", exc)
            except Exception:  # a bug must not end the subscription for the life of the process
                log.exception("Redis listener failed; resubscribing")
            finally:
                self._subscribed.clear()
                with suppress(*_REDIS_DOWN):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py
            await asyncio.sleep(backoff.delay())

    async def _subscribe(self, pubsub: PubSub) -> None:
        """Subscribe and wait for Redis to confirm, so that "subscribed" means messages published
        from now on reach us (what the hub's sync request after subscribing relies on)."""
        await pubsub.subscribe(self.channel)
        async with asyncio.timeout(_DEAD_AFTER_S):
            while True:
                message = await pubsub.get_message(timeout=_POLL_S)
                if message is not None and message["type"] == "subscribe":
                    return

    async def _pump(self, pubsub: PubSub, listener: BrokerListener) -> None:
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=_POLL_S)
            now = loop.time()
            if message is not None:
                last_heard, pinged = now, False
                if message["type"] == "message":
                    try:
                        listener.on_broker_message(message["data"])
                    except Exception:  # one bad message must not cost the subscription
                        log.exception("push message handler failed")
                continue
            if now - last_heard > _DEAD_AFTER_S:
                raise ConnectionError(f"Redis sent nothing for {_DEAD_AFTER_S:.0f} s, not even a pong")
            if now - last_heard > _PING_AFTER_S and not pinged:
                await pubsub.ping()
                pinged = True


async def publish_once(url: str, data: bytes, *, timeout_s: float = 2.0) -> int:
    """Publish one message on the deployment's channel without subscribing: how a one-shot
    process (the command line, after changing an agent) tells the running instances. Returns
    how many subscribers Redis handed it to; raises RedisError or OSError when Redis is away."""
    client: Redis = Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        return int(await client.publish(channel_for(client), data))
    finally:
        with suppress(*_REDIS_DOWN):
            await client.aclose()
