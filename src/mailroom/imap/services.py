"""What every IMAP session is given, built by `mailroom.app`: the few settings it reads
(`ImapSettings`, not the whole `Config`) and the services it calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailroom.auth import Authenticator
from mailroom.config import Config
from mailroom.net import ExternalLogin, TlsContexts
from mailroom.store import Account


@dataclass(frozen=True)
class ImapSettings:
    """The configuration an IMAP session reads."""

    max_message_size: int
    """APPENDLIMIT (RFC 7889) and the largest APPEND literal: `[smtp] max_message_size`,
    so what can be received can be stored."""
    hierarchy_separator: str
    """`[imap] hierarchy_separator`."""
    authenticated_timeout_seconds: float
    """`[imap] authenticated_timeout_seconds`: the idle timeout once logged in."""
    max_connections_per_user_ip: int
    """`[imap] max_connections_per_user_ip`."""

    @classmethod
    def from_config(cls, config: Config) -> ImapSettings:
        return cls(
            max_message_size=config.smtp.max_message_size,
            hierarchy_separator=config.imap.hierarchy_separator,
            authenticated_timeout_seconds=config.imap.authenticated_timeout_seconds,
            max_connections_per_user_ip=config.imap.max_connections_per_user_ip,
        )


@dataclass(frozen=True)
class ImapServices:
    """What every IMAP session uses; built by `mailroom.app`."""

    settings: ImapSettings
    authenticator: Authenticator
    tls: TlsContexts | None
    open_account: Callable[[str], Awaitable[Account]]
    """The mail account of a logged-in address (its Maildir and quota)."""
    external: ExternalLogin | None = None
    """SASL EXTERNAL (client certificates); None: refused."""
