"""The POP3 server as the connection layer sees it: one session per connection, the
`-ERR` that turns away a client over a limit, and the registry of its live sessions
that stops them when the host stops."""

from __future__ import annotations

from mailroom.config import Listener
from mailroom.net import Connection, Refusal, SessionRegistry
from mailroom.pop3.services import Pop3Services, Pop3Settings
from mailroom.pop3.session import Pop3Session
from mailroom.pop3.wire import SYS_TEMP, err

__all__ = ["Pop3Server", "Pop3Services", "Pop3Settings"]


class Pop3Server:
    """A `net.SessionHandler` for one pop3 listener."""

    def __init__(self, listener: Listener, services: Pop3Services) -> None:
        self.listener = listener
        self.services = services
        self.sessions: SessionRegistry[Pop3Session] = SessionRegistry()

    async def handle(self, connection: Connection) -> None:
        session = Pop3Session(connection, self.listener, self.services, self.sessions)
        with self.sessions.registered(session):
            await session.run()

    def stopping(self) -> None:
        """Close sessions waiting for their client (nothing is deleted: no QUIT came);
        busy ones close after their command."""
        self.sessions.stop_all()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(err(refusal.value.capitalize() + ".", SYS_TEMP))
