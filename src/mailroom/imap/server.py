"""The IMAP server as the connection layer sees it: one session per connection, the
`* BYE` that turns away a client over a limit, and what sessions share (services,
sessions per account and address)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailroom.auth import Authenticator
from mailroom.config import Config, Listener
from mailroom.imap.session import ImapSession
from mailroom.net import Connection, IPAddress, Refusal, TlsContexts, in_networks
from mailroom.store import Account, MailStore


@dataclass
class ImapServices:
    """What every IMAP session uses; built by `mailroom.app`."""

    config: Config
    authenticator: Authenticator
    tls: TlsContexts | None
    store: MailStore
    open_account: Callable[[str], Awaitable[Account]]
    """The mail account of a logged-in address (its Maildir and quota)."""


class ImapServer:
    """A `net.SessionHandler` for one imap listener."""

    def __init__(self, listener: Listener, services: ImapServices) -> None:
        self.listener = listener
        self.services = services
        self._logins: Counter[tuple[str, IPAddress]] = Counter()
        self.sessions: set[ImapSession] = set()
        self.stopped = False

    async def handle(self, connection: Connection) -> None:
        session = ImapSession(self, connection)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    def stopping(self) -> None:
        """Say BYE to sessions waiting for their client; busy ones do after their command."""
        self.stopped = True
        for session in list(self.sessions):
            session.stop_when_idle()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(f"* BYE {refusal.value}\r\n".encode())

    def may_send_password(self, connection: Connection) -> bool:
        """RFC 9051 §6.2.3 (LOGINDISABLED): passwords only over TLS or from allowed networks."""
        return connection.tls is not None or in_networks(
            connection.peer_ip, self.listener.plaintext_networks
        )

    def session_started(self, account: str, address: IPAddress) -> bool:
        """Count a logged-in session; False when the account has too many from `address`."""
        key = (account, address)
        if self._logins[key] >= self.services.config.imap.max_connections_per_user_ip:
            return False
        self._logins[key] += 1
        return True

    def session_ended(self, account: str, address: IPAddress) -> None:
        key = (account, address)
        self._logins[key] -= 1
        if self._logins[key] <= 0:
            del self._logins[key]
