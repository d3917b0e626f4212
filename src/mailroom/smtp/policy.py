"""What a listener allows: extensions offered, who may log in how, and which recipients
are accepted. Pure decisions from the config and the router's answers; no I/O."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailroom.auth import Authenticator, mechanisms
from mailroom.config import Config, Listener, TlsMode
from mailroom.config import Protocol as ListenerProtocol
from mailroom.delivery.srs import SrsError, SrsRewriter
from mailroom.net import IPAddress, TlsContexts, in_networks
from mailroom.queue import Envelope, MailQueue
from mailroom.routing import Expansion, FailureReason, RecipientVerdict
from mailroom.smtp import replies
from mailroom.smtp.replies import SmtpError, SmtpReply


class SmtpRouter(Protocol):
    """What SMTP asks routing (mailroom.routing.Router implements it)."""

    async def check(self, address: str) -> RecipientVerdict: ...

    async def expand(self, address: str) -> Expansion: ...

    async def may_send_as(self, account: str, address: str) -> bool: ...


class ImmediateDelivery(Protocol):
    """Delivery while the client waits (mailroom.delivery.dispatcher.Dispatcher)."""

    async def deliver_now(self, queue_id: str, message: Path, envelope: Envelope) -> Envelope: ...


@dataclass(frozen=True)
class SmtpServices:
    config: Config
    authenticator: Authenticator
    router: SmtpRouter
    queue: MailQueue
    tls: TlsContexts | None
    delivery: ImmediateDelivery | None = None
    """If set, local recipients are delivered before the 250 instead of queued."""
    srs: SrsRewriter | None = None
    """If set, bounces to the SRS addresses it made are accepted and sent on."""


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

    def may_send_password(self, *, secure: bool, peer: IPAddress) -> bool:
        """Plain-text passwords only over TLS, or from the listener's trusted networks."""
        return secure or in_networks(peer, self.listener.plaintext_networks)

    def tls_context(self) -> ssl.SSLContext:
        assert self.services.tls is not None
        return self.services.tls.for_listener(self.listener.name)

    def extensions(self, *, tls: bool, peer: IPAddress) -> list[str]:
        """The EHLO keywords (RFC 5321 §4.1.1.1), in Postfix's order."""
        smtp = self.services.config.smtp
        offered = ["PIPELINING", f"SIZE {smtp.max_message_size}"]
        if self.offers_starttls and not tls:
            offered.append("STARTTLS")
        if self.offers_auth and self.may_send_password(secure=tls, peer=peer):
            offered.append("AUTH " + " ".join(mechanisms(secure=True)))
        offered += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"]
        return offered


def recipient_reply(
    verdict: RecipientVerdict, expansion: Expansion, *, authenticated: bool, shown: str
) -> SmtpReply | None:
    """None to accept the recipient, else the refusal. No open relay: a recipient in
    no domain of ours is accepted only from a logged-in member."""
    if verdict is RecipientVerdict.REMOTE and not authenticated:
        return replies.relay_denied(shown)
    if verdict is RecipientVerdict.LOCAL_UNKNOWN:
        return replies.unknown_user(shown)
    if not expansion.deliveries:
        # Known, but every branch failed (an alias into a loop, say): refusing now
        # sends no bounce to a possibly forged sender.
        if any(f.reason is FailureReason.INVALID for f in expansion.failures):
            return replies.BAD_RECIPIENT_SYNTAX.with_detail(shown)
        return replies.unknown_user(shown)
    return None


def srs_original(srs: SrsRewriter | None, address: str) -> str | None:
    """For a recipient in the SRS domain: the original sender it stands for. Raises
    SmtpError (550) for an SRS address that is forged, damaged or too old."""
    if srs is None or address.rpartition("@")[2].lower() != srs.domain.lower():
        return None
    if not srs.is_srs(address):
        return None
    try:
        return srs.reverse(address)
    except SrsError as error:
        raise SmtpError(replies.unknown_user(address).with_detail(str(error)[:200])) from None
