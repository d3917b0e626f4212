"""The ManageSieve server as the connection layer sees it: one session per connection,
the BYE that turns away a client over a limit, and the registry of its live sessions
that stops them when the host stops."""

from __future__ import annotations

from mailroom.config import Listener
from mailroom.managesieve.responses import TRYLATER, status
from mailroom.managesieve.services import ManageSieveServices
from mailroom.managesieve.session import ManageSieveSession
from mailroom.net import Connection, Refusal, SessionRegistry


class ManageSieveServer:
    """A `net.SessionHandler` for one managesieve listener."""

    def __init__(self, listener: Listener, services: ManageSieveServices) -> None:
        self.listener = listener
        self.services = services
        self.sessions: SessionRegistry[ManageSieveSession] = SessionRegistry()

    async def handle(self, connection: Connection) -> None:
        session = ManageSieveSession(connection, self.listener, self.services, self.sessions)
        with self.sessions.registered(session):
            await session.run()

    def stopping(self) -> None:
        """Say BYE to sessions waiting for their client; busy ones do after their command."""
        self.sessions.stop_all()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        # RFC 5804 §1.3 TRYLATER: the client may come back.
        await connection.send(status("BYE", refusal.value.capitalize() + ".", TRYLATER))
