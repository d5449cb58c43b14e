"""The broker: carries serialised messages between the instances of the service.

Small on purpose, like encode/broadcaster's backends: one channel per deployment, opaque bytes.
Routing by line happens in each hub, which knows its own agents' lines and needs every call
anyway to keep the live-call state its snapshots come from. The implementations (memory_broker,
redis_broker) import this module; `app.push.create_broker` picks one.
"""

from __future__ import annotations

from typing import Protocol


class BrokerListener(Protocol):
    """What a broker calls back. Both calls happen on the event loop and must not block or await
    a socket: the hub only queues frames from here."""

    def on_broker_message(self, data: bytes) -> None: ...

    def on_broker_subscribed(self, *, resubscribed: bool) -> None:
        """Messages flow (again). `resubscribed` is True after a loss: anything published in the
        gap was missed."""
        ...


class Broker(Protocol):
    async def start(self, listener: BrokerListener) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, data: bytes) -> None:
        """Hand `data` to every other instance; must not wait on the network (it may queue)."""
        ...

    async def healthy(self) -> bool: ...
