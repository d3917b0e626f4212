"""The SMTP and submission servers as the connection layer sees them: one session per
connection, the 421 that turns away a client over a limit, and the sessions to end
when the server stops."""

from __future__ import annotations

from mailroom.config import Listener
from mailroom.net import Connection, Refusal, SessionRegistry
from mailroom.smtp import replies
from mailroom.smtp.policy import SessionPolicy, SmtpServices
from mailroom.smtp.session import SmtpSession


class SmtpServer:
    """A `net.SessionHandler` for one smtp or submission listener."""

    def __init__(self, listener: Listener, services: SmtpServices) -> None:
        self.policy = SessionPolicy(listener, services)
        self.sessions: SessionRegistry[SmtpSession] = SessionRegistry()

    async def handle(self, connection: Connection) -> None:
        session = SmtpSession(self.policy, connection, self.sessions)
        with self.sessions.registered(session):
            await session.run()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        hostname = self.policy.services.settings.hostname
        reply = replies.SmtpReply(421, "4.7.0", f"{hostname} Error: {refusal.value}")
        await connection.send(reply.encode())

    def stopping(self) -> None:
        """Sessions waiting for their client's next command end now with a 421; busy
        ones finish their command first (a message being received is acknowledged or
        not, never cut off), within the listener's grace."""
        self.sessions.stop_all()
