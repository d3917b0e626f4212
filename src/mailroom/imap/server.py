"""The IMAP server as the connection layer sees it: one session per connection, the
`* BYE` that turns away a client over a limit, and what sessions share (services, the
registry of live sessions, logins per account and address)."""

from __future__ import annotations

from mailroom.config import Listener
from mailroom.imap.login_counts import LoginCounts, LoginLimit
from mailroom.imap.services import ImapServices
from mailroom.imap.session import ImapSession
from mailroom.net import Connection, Refusal, SessionRegistry


class ImapServer:
    """A `net.SessionHandler` for one imap listener."""

    def __init__(
        self, listener: Listener, services: ImapServices, logins: LoginLimit | None = None
    ) -> None:
        self.listener = listener
        self.services = services
        self.logins: LoginLimit = logins or LoginCounts(
            services.settings.max_connections_per_user_ip
        )
        """This listener's own count, unless the host's (worker processes) is given."""
        self.registry: SessionRegistry[ImapSession] = SessionRegistry()

    async def handle(self, connection: Connection) -> None:
        session = ImapSession(connection, self.services, self.listener, self.registry, self.logins)
        with self.registry.registered(session):
            await session.run()

    def stopping(self) -> None:
        """Say BYE to sessions waiting for their client; busy ones do after their command."""
        self.registry.stop_all()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(f"* BYE {refusal.value}\r\n".encode())
