"""The host's connection limits, counted for all listeners together: connections open in
the process, connections per client group (`client_groups.py`), and TLS handshakes in
progress. The numbers are derived from the process's open-file limit, so no client, or
all of them together, can take the descriptors the directory, queue and store need.

In a host with worker processes the main process counts every connection (its own
listeners' and those it hands to workers, `handoff.py`), so the per-address cap holds
across SMTP, IMAP and POP3 whichever process serves them.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from mailroom.config.limits import LimitsConfig
from mailroom.net.client_groups import IPAddress, client_group
from mailroom.net.connection import Deadlines

FILES_PER_CONNECTION = 2
"""Descriptors one connection may need: its socket, and a file its session has open
(the queue file during DATA, a message FETCH or RETR is reading)."""
MIN_CONNECTIONS = 16
"""Connections allowed however low the open-file limit (below it the server is
misconfigured, and says so at start)."""


class Refusal(enum.Enum):
    NOT_ALLOWED = "client network not allowed"
    TOO_MANY_CONNECTIONS = "too many connections"
    TOO_MANY_FROM_ADDRESS = "too many connections from this address"
    TOO_MANY_HANDSHAKES = "too many TLS handshakes in progress"


@dataclass(frozen=True)
class EdgeLimits:
    """The limits in force in one process."""

    max_connections: int
    max_connections_per_address: int
    ipv6_prefix_length: int = 64
    max_tls_handshakes: int = 100
    tls_handshake_timeout: float = 10.0
    deadlines: Deadlines = field(default_factory=Deadlines)

    @classmethod
    def derive(cls, config: LimitsConfig, open_files: int) -> EdgeLimits:
        """The limits of `config` under an open-file limit of `open_files` (the soft
        RLIMIT_NOFILE): connections times FILES_PER_CONNECTION plus the reserve stay
        below it, one address gets at most half of the connections."""
        room = (open_files - config.reserved_file_descriptors) // FILES_PER_CONNECTION
        allowed = max(MIN_CONNECTIONS, room)
        wanted = config.max_connections
        total = allowed if wanted == "auto" else min(wanted, allowed)
        return cls(
            max_connections=total,
            max_connections_per_address=min(config.max_connections_per_address, max(1, total // 2)),
            ipv6_prefix_length=config.ipv6_prefix_length,
            max_tls_handshakes=min(config.max_tls_handshakes, total),
            tls_handshake_timeout=config.tls_handshake_timeout_seconds,
            deadlines=Deadlines(
                command_line_seconds=config.command_line_timeout_seconds,
                min_data_rate=config.min_data_rate,
                data_rate_grace_seconds=config.data_rate_grace_seconds,
            ),
        )

    def group(self, address: str | IPAddress) -> str:
        return client_group(address, self.ipv6_prefix_length)


UNLIMITED = EdgeLimits(max_connections=1 << 30, max_connections_per_address=1 << 30)
"""For a listener run on its own (tests of one protocol): only its own limits hold."""


class HostConnections:
    """What is open in this process now, against its `EdgeLimits`."""

    def __init__(self, limits: EdgeLimits) -> None:
        self.limits = limits
        self.open = 0
        self.per_group: Counter[str] = Counter()
        self.handshakes = 0

    def admit(self, group: str) -> Refusal | None:
        """Count a new connection of `group`, or say why it is refused (not counted)."""
        if self.open >= self.limits.max_connections:
            return Refusal.TOO_MANY_CONNECTIONS
        if self.per_group[group] >= self.limits.max_connections_per_address:
            return Refusal.TOO_MANY_FROM_ADDRESS
        self.open += 1
        self.per_group[group] += 1
        return None

    def release(self, group: str) -> None:
        """An admitted connection of `group` is closed."""
        self.open -= 1
        self.per_group[group] -= 1
        if self.per_group[group] <= 0:
            del self.per_group[group]

    def start_handshake(self) -> bool:
        """Count a TLS handshake beginning; False (not counted) at the cap."""
        if self.handshakes >= self.limits.max_tls_handshakes:
            return False
        self.handshakes += 1
        return True

    def end_handshake(self) -> None:
        self.handshakes -= 1
