"""The in-process broker: the default when no Redis is configured (a single instance)."""

from __future__ import annotations

from app.push.broker import BrokerListener


class MemoryBus:
    """The listeners that share messages. One per broker by default; hubs built on one bus see
    each other's events, which lets several hubs in one process behave like several instances."""

    def __init__(self) -> None:
        self.listeners: list[BrokerListener] = []


class MemoryBroker:
    def __init__(self, bus: MemoryBus | None = None) -> None:
        self._bus = bus or MemoryBus()
        self._listener: BrokerListener | None = None

    async def start(self, listener: BrokerListener) -> None:
        self._listener = listener
        self._bus.listeners.append(listener)
        listener.on_broker_subscribed(resubscribed=False)

    async def stop(self) -> None:
        if self._listener is not None and self._listener in self._bus.listeners:
            self._bus.listeners.remove(self._listener)
        self._listener = None

    async def publish(self, data: bytes) -> None:
        # Synchronous hand-over: listeners only queue frames, so nothing here waits on a socket.
        # The publishing hub has already delivered to its own agents.
        for listener in list(self._bus.listeners):
            if listener is not self._listener:
                listener.on_broker_message(data)

    async def healthy(self) -> bool:
        return True
