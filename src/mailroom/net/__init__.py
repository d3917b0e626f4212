"""The one connection layer every protocol shares: listeners, TLS, limits, allow-lists,
bounded reads. Knows no protocol."""

from mailroom.net.connection import (
    Connection,
    ConnectionClosed,
    IdleTimeout,
    LineTooLong,
    TlsInfo,
)
from mailroom.net.listener import (
    IPAddress,
    ListeningServer,
    Refusal,
    SessionHandler,
    in_networks,
)
from mailroom.net.tls import CertificateError, TlsContexts, server_context

__all__ = [
    "CertificateError",
    "Connection",
    "ConnectionClosed",
    "IPAddress",
    "IdleTimeout",
    "LineTooLong",
    "ListeningServer",
    "Refusal",
    "SessionHandler",
    "TlsContexts",
    "TlsInfo",
    "in_networks",
    "server_context",
]
