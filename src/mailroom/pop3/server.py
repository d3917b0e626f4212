"""The POP3 server as the connection layer sees it: one session per connection, the
`-ERR` that turns away a client over a limit, and what sessions share (services, the
maildrop locks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailroom.auth import Authenticator
from mailroom.config import Config, Listener
from mailroom.net import Connection, Refusal, TlsContexts, in_networks
from mailroom.pop3.maildrop import MaildropLocks
from mailroom.pop3.session import Pop3Session
from mailroom.pop3.wire import SYS_TEMP, err
from mailroom.store import Account


@dataclass
class Pop3Services:
    """What every POP3 session uses; built by `mailroom.app`, one for all listeners."""

    config: Config
    authenticator: Authenticator
    tls: TlsContexts | None
    open_account: Callable[[str], Awaitable[Account]]
    """The mail account of a logged-in address (its Maildir and quota)."""
    locks: MaildropLocks = field(default_factory=MaildropLocks)
    """Shared by the pop3 and pop3s listeners: one session per maildrop in all."""


class Pop3Server:
    """A `net.SessionHandler` for one pop3 listener."""

    def __init__(self, listener: Listener, services: Pop3Services) -> None:
        self.listener = listener
        self.services = services
        self.sessions: set[Pop3Session] = set()
        self.stopped = False

    async def handle(self, connection: Connection) -> None:
        session = Pop3Session(self, connection)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    def stopping(self) -> None:
        """Close sessions waiting for their client (nothing is deleted: no QUIT came);
        busy ones close after their command."""
        self.stopped = True
        for session in list(self.sessions):
            session.stop_when_idle()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(err(refusal.value.capitalize() + ".", SYS_TEMP))

    def may_send_password(self, connection: Connection) -> bool:
        """RFC 2595 §4: passwords only over TLS or from networks allowed plain text."""
        return connection.tls is not None or in_networks(
            connection.peer_ip, self.listener.plaintext_networks
        )
