"""An outside mail host that keeps what it receives: an aiosmtpd handler for tests of
delivery to other hosts, which answers RCPT TO as the test tells it."""

from __future__ import annotations

from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes
    tls: bool


class Receiver:
    """An aiosmtpd handler: accepts everyone unless `rcpt_replies` says otherwise."""

    def __init__(self, rcpt_replies: dict[str, str] | None = None) -> None:
        self.rcpt_replies = rcpt_replies or {}
        self.received: list[Received] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                list(envelope.mail_options),
                content,
                session.ssl is not None,
            )
        )
        return "250 2.0.0 Ok: queued as 4711"
