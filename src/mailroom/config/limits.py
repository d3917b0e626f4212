"""`[limits]`: the host's edge, shared by every listener: connections per client address
across all listeners, the total the process's open-file limit allows, the TLS handshake,
and how slowly a client may send a command line or a message.

A listener's own `max_connections` and `max_connections_per_ip` still hold for it; these
hold for the whole host. The deadlines follow Postfix's `smtpd_per_request_deadline`
and `smtpd_min_data_rate` (Postfix 3.7): every byte resetting a timer is what lets a
slowloris client hold a connection forever.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from mailroom.config.section import Section


def parse_auto_count(value: object) -> object:
    """Accept a positive count or "auto" (derived from the open-file limit)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError('expected a positive number or "auto"')
    return value


class LimitsConfig(Section):
    """Limits of the whole host, whatever listener a client connects to."""

    max_connections: Annotated[int | Literal["auto"], BeforeValidator(parse_auto_count)] = "auto"
    """Client connections open at once in one process, all listeners together. "auto":
    as many as the open-file limit (raised to its hard limit at start) allows after
    `reserved_file_descriptors`; a number is lowered to that too."""
    max_connections_per_address: int = Field(default=50, ge=1)
    """Connections open at once from one client address, all listeners together (an
    IPv6 client counts by its network, see `ipv6_prefix_length`). Never more than half
    of `max_connections`."""
    ipv6_prefix_length: int = Field(default=64, ge=32, le=128)
    """IPv6 clients are counted by network of this length: one host usually has a whole
    /64 to pick addresses from. An IPv4-mapped address counts as its IPv4 address."""
    reserved_file_descriptors: int = Field(default=256, ge=32)
    """Open files kept back from connections for the directory, the queue, the mail
    store and the listening sockets."""
    max_tls_handshakes: int = Field(default=100, ge=1)
    """TLS handshakes in progress at once on implicit-TLS ports (993, 995, 465); one more
    is closed at once, before any TLS work."""
    tls_handshake_timeout_seconds: float = Field(default=10, gt=0)
    """A client must finish its TLS handshake (implicit TLS and STARTTLS) within this."""
    command_line_timeout_seconds: float = Field(default=60, gt=0)
    """A command line must be complete this long after its first byte (each byte
    otherwise resets only the idle timeout)."""
    min_data_rate: int = Field(default=500, ge=0)
    """Bytes per second a client must keep up, on average, while sending a message
    (SMTP DATA and BDAT) or an IMAP literal, after `data_rate_grace_seconds`; 0: no
    minimum (Postfix's smtpd_min_data_rate)."""
    data_rate_grace_seconds: float = Field(default=30, gt=0)
    """Seconds a message or literal may take whatever its size; each byte received
    adds 1/min_data_rate seconds to them."""
