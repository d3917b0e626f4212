"""The metrics themselves, in one registry of the host's own. Names follow Prometheus'
conventions (`mailroom_` prefix, `_total` for counters, base units). Label values are
few and come from code or config (protocol and listener names, outcomes), never from a
client, so no client can make the registry grow."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CONNECTIONS = Counter(
    "mailroom_connections",
    "Client sessions started, by protocol (after the limits and implicit TLS).",
    ["protocol"],
    registry=REGISTRY,
)
CONNECTIONS_REFUSED = Counter(
    "mailroom_connections_refused",
    "Client connections refused by the listener's limits, by protocol and reason.",
    ["protocol", "reason"],
    registry=REGISTRY,
)
SESSIONS_OPEN = Gauge(
    "mailroom_sessions_open",
    "Client sessions open now, by protocol.",
    ["protocol"],
    registry=REGISTRY,
)
TLS_HANDSHAKE_FAILURES = Counter(
    "mailroom_tls_handshake_failures",
    "TLS handshakes that failed or timed out, by listener and mode (implicit, starttls).",
    ["listener", "mode"],
    registry=REGISTRY,
)
MESSAGES_RECEIVED = Counter(
    "mailroom_messages_received",
    "Messages accepted with 250 after DATA/BDAT, by protocol (smtp, submission).",
    ["protocol"],
    registry=REGISTRY,
)
MESSAGES_DELIVERED = Counter(
    "mailroom_messages_delivered",
    "Deliveries done, one per recipient (to a mailbox or accepted by another server).",
    registry=REGISTRY,
)
MESSAGES_DEFERRED = Counter(
    "mailroom_messages_deferred",
    "Delivery attempts that failed temporarily, one per recipient and attempt.",
    registry=REGISTRY,
)
MESSAGES_BOUNCED = Counter(
    "mailroom_messages_bounced",
    "Recipients given up on (refused for good, or expired in the queue).",
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "mailroom_delivery_latency_seconds",
    "Seconds from reception to delivery, per recipient delivered.",
    buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 5 * 24 * 3600),
    registry=REGISTRY,
)
AUTH_ATTEMPTS = Counter(
    "mailroom_auth_attempts",
    "Logins decided, by protocol and outcome (success, bad_password, throttled, ...).",
    ["protocol", "outcome"],
    registry=REGISTRY,
)
BANS = Counter(
    "mailroom_bans",
    "Bans imposed by the login throttle (an address or an account; with Redis, addresses).",
    registry=REGISTRY,
)
QUEUE_MESSAGES = Gauge(
    "mailroom_queue_messages",
    "Messages in the queue, by state (held, deferred, waiting: not tried yet); at scrape.",
    ["state"],
    registry=REGISTRY,
)
QUEUE_OLDEST = Gauge(
    "mailroom_queue_oldest_seconds",
    "Age of the oldest queued message in seconds (0 when empty); at scrape.",
    registry=REGISTRY,
)
