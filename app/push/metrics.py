"""Prometheus metrics of the push channel: plain counters and a gauge, cheap on the hot path."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Gauge("ringcard_push_connections", "Authenticated agent sockets open in this process")
ENVELOPES_FANNED_OUT = Counter(
    "ringcard_push_envelopes_fanned_out", "Call events this process delivered to its agents (each once)"
)
ENVELOPES_SENT = Counter(
    "ringcard_push_envelopes_sent", "Envelopes handed to agents' sockets (queued for their writers)"
)
SLOW_CONSUMER_DISCONNECTS = Counter(
    "ringcard_push_slow_consumer_disconnects", "Sockets closed with 1013 because their queue was full"
)
BROKER_RESUBSCRIPTIONS = Counter(
    "ringcard_push_broker_resubscriptions", "Times the broker subscription came back after a loss"
)
BROKER_PUBLISH_FAILURES = Counter(
    "ringcard_push_broker_publish_failures", "Failed attempts to publish to the broker (retried)"
)
BROKER_OUTBOX_DROPS = Counter(
    "ringcard_push_broker_outbox_drops", "Messages dropped unpublished because the broker was away too long"
)
SOCKETS_REVOKED = Counter(
    "ringcard_push_sockets_revoked",
    "Sockets closed with 4401 because their agent was deactivated, deleted or signed out everywhere",
)
SOCKETS_REPLACED = Counter(
    "ringcard_push_sockets_replaced",
    "Sockets closed with 4409 because their agent opened more than RINGCARD_MAX_SOCKETS_PER_AGENT",
)
