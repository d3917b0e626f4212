"""What a listener allows, and what its sessions use: extensions offered, who may log
in how. Pure decisions from the listener's settings and the connection's state; no I/O.
The rules of the transaction itself are `transaction.py`."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailroom.auth import Authenticator, mechanisms
from mailroom.config import Listener, TlsMode
from mailroom.config import Protocol as ListenerProtocol
from mailroom.net import (
    Connection,
    ExternalLogin,
    TlsContexts,
    may_send_password,
    offers_external,
)
from mailroom.queue import Envelope, MailQueue
from mailroom.routing import Route, SrsReverser
from mailroom.smtp.replies import SmtpReply
from mailroom.smtp.settings import SmtpSettings


class SmtpRouter(Protocol):
    """What SMTP asks routing (mailroom.routing.Router implements it)."""

    async def route(self, address: str, *, srs: SrsReverser | None = None) -> Route: ...

    async def may_send_as(self, account: str, address: str) -> bool: ...


class ImmediateDelivery(Protocol):
    """Delivery while the client waits (mailroom.delivery.dispatcher.Dispatcher)."""

    async def deliver_now(
        self, queue_id: str, message: Path | bytes, envelope: Envelope
    ) -> Envelope: ...


class ClientCheck(Protocol):
    """Asked about each client of an smtp (port 25) listener before the greeting
    (mailroom.mailauth.dnsbl.DnsblChecker, injected by app)."""

    async def refusal(self, address: str) -> str | None:
        """The text of a 554 5.7.1 refusing the client at `address`, or None."""
        ...


@dataclass(frozen=True)
class InboundMessage:
    """A message received on port 25 from a client that did not log in, at the end of
    DATA/BDAT, stored (flushed, not committed) at `path`."""

    path: Path
    queue_id: str
    client_ip: str
    helo: str
    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class InboundVerdict:
    """What the inbound check decided: replace the first `replaced` octets of the
    message with `head` (its Authentication-Results field), refuse it, or accept it
    with `notes` added to its envelope's `extra` (e.g. quarantine for delivery)."""

    head: bytes = b""
    replaced: int = 0
    refusal: SmtpReply | None = None
    notes: tuple[tuple[str, str], ...] = ()


class InboundCheck(Protocol):
    """Mail authentication of inbound mail (SPF, DKIM, ARC, DMARC), implemented in app
    over mailroom.mailauth, which smtp may not import."""

    async def check(self, message: InboundMessage) -> InboundVerdict: ...


@dataclass(frozen=True)
class SmtpServices:
    settings: SmtpSettings
    authenticator: Authenticator
    router: SmtpRouter
    queue: MailQueue
    tls: TlsContexts | None
    delivery: ImmediateDelivery | None = None
    """If set, local recipients are delivered before the 250 instead of queued."""
    srs: SrsReverser | None = None
    """If set, bounces to the SRS addresses it made are accepted and sent on."""
    client_check: ClientCheck | None = None
    """If set, asked about each client of an smtp listener at connect (DNSBL)."""
    inbound_check: InboundCheck | None = None
    """If set, run at the end of DATA/BDAT on smtp listeners for clients not logged in."""
    external: ExternalLogin | None = None
    """SASL EXTERNAL (client certificates); None: refused."""


@dataclass(frozen=True)
class SessionPolicy:
    """One listener's rules."""

    listener: Listener
    services: SmtpServices

    @property
    def submission(self) -> bool:
        return self.listener.protocol is ListenerProtocol.SUBMISSION

    @property
    def offers_starttls(self) -> bool:
        return self.listener.tls is TlsMode.STARTTLS and self.services.tls is not None

    @property
    def offers_auth(self) -> bool:
        """AUTH is for members, on submission listeners only (as Postfix's master.cf
        enables it for submission and smtps alone)."""
        return self.submission

    @property
    def requires_auth(self) -> bool:
        return self.submission

    def tls_context(self) -> ssl.SSLContext:
        assert self.services.tls is not None
        return self.services.tls.for_listener(self.listener.name)

    def extensions(self, connection: Connection) -> list[str]:
        """The EHLO keywords (RFC 5321 §4.1.1.1), in Postfix's order. AUTH is offered
        where a password may be sent (the rule every protocol shares)."""
        offered = ["PIPELINING", f"SIZE {self.services.settings.max_message_size}"]
        if self.offers_starttls and connection.tls is None:
            offered.append("STARTTLS")
        if self.offers_auth and may_send_password(connection, self.listener):
            external = offers_external(connection)
            offered.append("AUTH " + " ".join(mechanisms(secure=True, external=external)))
        offered += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"]
        return offered
