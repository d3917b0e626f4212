"""What POP3 sessions are given: the few settings they read and the services they use.

`mailroom.app` builds one `Pop3Services` for all POP3 listeners (so that they share the
maildrop locks); a session gets it, its listener and its server's session registry,
never the server itself nor the whole `Config`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailroom.auth import Authenticator
from mailroom.net import ExternalLogin, TlsContexts
from mailroom.pop3.maildrop import MaildropLocks
from mailroom.store import Account


@dataclass(frozen=True)
class Pop3Settings:
    """What POP3 reads from the configuration (`[pop3]`; the listener's own settings
    come with its `Listener`)."""

    authenticated_timeout_seconds: float
    """A logged-in client silent this long is disconnected (RFC 1939 §3: at least 10
    minutes); before login the listener's `idle_timeout_seconds` holds."""


@dataclass
class Pop3Services:
    """What every POP3 session uses; built by `mailroom.app`, one for all listeners."""

    settings: Pop3Settings
    authenticator: Authenticator
    tls: TlsContexts | None
    open_account: Callable[[str], Awaitable[Account]]
    """The mail account of a logged-in address (its Maildir and quota)."""
    locks: MaildropLocks = field(default_factory=MaildropLocks)
    """Shared by the pop3 and pop3s listeners: one session per maildrop in all."""
    external: ExternalLogin | None = None
    """SASL EXTERNAL (client certificates); None: refused."""
