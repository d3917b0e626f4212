"""The SMTP and submission servers as the connection layer sees them: one session per
connection, and the 421 that turns away a client over a limit."""

from __future__ import annotations

from mailroom.config import Listener
from mailroom.net import Connection, Refusal
from mailroom.smtp import replies
from mailroom.smtp.policy import SessionPolicy, SmtpServices
from mailroom.smtp.session import SmtpSession


class SmtpServer:
    """A `net.SessionHandler` for one smtp or submission listener."""

    def __init__(self, listener: Listener, services: SmtpServices) -> None:
        self.policy = SessionPolicy(listener, services)

    async def handle(self, connection: Connection) -> None:
        await SmtpSession(self.policy, connection).run()

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        hostname = self.policy.services.config.hostname
        reply = replies.SmtpReply(421, "4.7.0", f"{hostname} Error: {refusal.value}")
        await connection.send(reply.encode())

    def stopping(self) -> None:
        """Sessions finish what they are doing; the listener's grace bounds the wait."""
