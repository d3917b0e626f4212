"""The host's counters for monitoring (prometheus-client): defined here, counted by every
package, exported on the web listener's `/metrics`.

Every metric lives in this package's own `REGISTRY` (never prometheus-client's global
one, which a library imported by the host could also fill). A package counts with one
call at the place where the thing happens (`MESSAGES_RECEIVED.labels("smtp").inc()`);
what is measured at scrape time (the queue) the app sets just before rendering.

A worker process (`[server] workers`) counts in its own copy of the registry; the main
process asks each worker for its samples over the worker's link when it renders
(`combined`), so `/metrics` shows the whole host. This package imports no other room of
Mailroom: everyone may count.
"""

from mailroom.metrics.registry import (
    AUTH_ATTEMPTS,
    BANS,
    CONNECTIONS,
    CONNECTIONS_REFUSED,
    DELIVERY_LATENCY,
    MESSAGES_BOUNCED,
    MESSAGES_DEFERRED,
    MESSAGES_DELIVERED,
    MESSAGES_RECEIVED,
    QUEUE_MESSAGES,
    QUEUE_OLDEST,
    REGISTRY,
    SESSIONS_OPEN,
    TLS_HANDSHAKE_FAILURES,
)

__all__ = [
    "AUTH_ATTEMPTS",
    "BANS",
    "CONNECTIONS",
    "CONNECTIONS_REFUSED",
    "DELIVERY_LATENCY",
    "MESSAGES_BOUNCED",
    "MESSAGES_DEFERRED",
    "MESSAGES_DELIVERED",
    "MESSAGES_RECEIVED",
    "QUEUE_MESSAGES",
    "QUEUE_OLDEST",
    "REGISTRY",
    "SESSIONS_OPEN",
    "TLS_HANDSHAKE_FAILURES",
]
