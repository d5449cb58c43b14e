"""Live pops to agents: the hub, the broker between instances, and the `WS /ws` endpoint.

The telephony side calls `app.state.push.publish_call_event(...)` (see `PushHub`).
"""

from __future__ import annotations

from app.push.broker import Broker, BrokerListener
from app.push.hub import PushHub, TokenVersions
from app.push.snapshots import SnapshotSource
from app.settings import Settings

__all__ = [
    "Broker",
    "BrokerListener",
    "PushHub",
    "SnapshotSource",
    "TokenVersions",
    "create_broker",
    "create_push",
]


def create_broker(settings: Settings) -> Broker:
    # Imported where chosen: without Redis configured, the Redis client is never needed.
    if settings.redis_url:
        from app.push.redis_broker import RedisBroker

        return RedisBroker(settings.redis_url)
    from app.push.memory_broker import MemoryBroker

    return MemoryBroker()


def create_push(
    settings: Settings,
    *,
    snapshots: SnapshotSource | None = None,
    token_versions: TokenVersions | None = None,
) -> PushHub:
    return PushHub(
        create_broker(settings),
        region=settings.default_region,
        snapshots=snapshots,
        max_sockets_per_agent=settings.max_sockets_per_agent,
        token_versions=token_versions,
    )
