"""The one connection layer every protocol shares: listeners, TLS, limits, allow-lists,
bounded reads, and what every session shares (the password rule, the session registry,
the bad-command limit). Knows no protocol."""

from mailroom.net.client_certificates import ExternalLogin, offers_external, session_log_in
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
from mailroom.net.session import (
    BadCommandLimit,
    SessionRegistry,
    StoppableSession,
    may_send_password,
)
from mailroom.net.tls import CertificateError, TlsContexts, server_context

__all__ = [
    "BadCommandLimit",
    "CertificateError",
    "Connection",
    "ConnectionClosed",
    "ExternalLogin",
    "IPAddress",
    "IdleTimeout",
    "LineTooLong",
    "ListeningServer",
    "Refusal",
    "SessionHandler",
    "SessionRegistry",
    "StoppableSession",
    "TlsContexts",
    "TlsInfo",
    "in_networks",
    "may_send_password",
    "offers_external",
    "server_context",
    "session_log_in",
]
