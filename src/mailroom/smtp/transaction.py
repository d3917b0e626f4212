"""The rules of an SMTP conversation, in one place: which command may come when, what a
transaction has gathered, and the pure decisions about senders and recipients.

As h11 keeps HTTP's state rules apart from its I/O, the session (`session.py`) holds
a `SessionState` and asks the functions here; each takes the state (and what the
session has learnt: a command, the router's `Route`, a limit) and returns the refusal
to send, or None to go on. Nothing here reads a socket, the clock or the disk, or
awaits anything: what needs the directory or the queue is asked by the session.

Within each function the checks run in a fixed order: when several apply, the client
hears the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailroom.queue import ClientInfo, Envelope, EnvelopeRecipient, MailParams, MessageWriter
from mailroom.routing import FailureReason, RecipientVerdict, Route
from mailroom.smtp import replies
from mailroom.smtp.commands import Body, Mail, Notify, Rcpt, RcptParams
from mailroom.smtp.data import DataDecoder, HeaderScanner
from mailroom.smtp.paths import Path
from mailroom.smtp.replies import SmtpError, SmtpReply
from mailroom.smtp.settings import SmtpSettings


def refuse_if(refusal: SmtpReply | None) -> None:
    """Raise the refusal one of the rules below returned, if it returned one."""
    if refusal is not None:
        raise SmtpError(refusal)


@dataclass
class Transaction:
    """What MAIL FROM .. DATA has gathered so far."""

    sender: str
    params: MailParams
    smtputf8: bool
    recipients: dict[str, EnvelopeRecipient] = field(default_factory=dict)
    """Final recipients by address: the first RCPT that led to one wins, and however many
    RCPTs reach one address it is one entry (the count is bounded by the directory)."""
    accepted: int = 0
    """RCPT commands answered 250 (the client's count, before alias expansion)."""
    writer: MessageWriter | None = None
    """The queue file, from the first BDAT chunk on."""
    chunking_failed: SmtpReply | None = None
    bdat_scanner: HeaderScanner = field(default_factory=HeaderScanner)
    bdat_size: int = 0
    """Octets of message received in BDAT chunks so far."""

    def accept(self, recipients: list[EnvelopeRecipient]) -> None:
        """A RCPT answered 250: its final recipients join the envelope, once each."""
        for recipient in recipients:
            self.recipients.setdefault(recipient.address, recipient)
        self.accepted += 1

    def take_chunk(self, piece: bytes, max_message_size: int) -> bool:
        """Count a piece of a BDAT chunk; whether to write it (False once the chunks
        have failed: the rest is read and dropped, RFC 3030 §2)."""
        if self.chunking_failed is not None:
            return False
        self.bdat_size += len(piece)
        if self.bdat_size > max_message_size:
            self.chunking_failed = replies.MESSAGE_TOO_BIG
            return False
        self.bdat_scanner.feed(piece)
        return True

    def single_recipient(self) -> str | None:
        """For the Received: header's `for` clause: the one recipient as the client gave
        it, when it gave one (RFC 5321 §4.4)."""
        if self.accepted != 1:
            return None
        return next(iter(self.recipients.values())).original


@dataclass
class SessionState:
    """What the client has established so far. The rules below read it; the session
    changes it as commands succeed."""

    helo: str | None = None
    extended: bool = False
    """EHLO rather than HELO: extensions and their parameters may be used."""
    account: str | None = None
    """The logged-in account (AUTH)."""
    transaction: Transaction | None = None

    def forget_for_tls(self) -> None:
        """RFC 3207 §4.2: after STARTTLS the client starts again from EHLO."""
        self.helo = None
        self.extended = False
        self.account = None
        self.transaction = None


def auth_refusal(
    state: SessionState, *, offered: bool, may_send_password: bool
) -> SmtpReply | None:
    """Whether AUTH may start now (RFC 4954 §4)."""
    if not offered:
        return replies.AUTH_NOT_ENABLED
    if state.helo is None:
        return replies.NEED_HELO
    if state.account is not None:
        return replies.ALREADY_AUTHENTICATED
    if state.transaction is not None:
        return replies.AUTH_IN_TRANSACTION
    if not may_send_password:
        return replies.MECHANISM_NEEDS_ENCRYPTION
    return None


def mail_refusal(
    state: SessionState, command: Mail, *, requires_auth: bool, settings: SmtpSettings
) -> SmtpReply | None:
    """Whether MAIL FROM may start a transaction (RFC 5321 §4.1.1.2); the sender's
    ownership (`may_send_as`) is the session's question to routing, after this."""
    if state.helo is None:
        return replies.NEED_HELO
    if state.transaction is not None:
        return replies.NESTED_MAIL
    if requires_auth and state.account is None:
        return replies.AUTH_REQUIRED
    params = command.params
    if not state.extended and params != type(params)():
        return replies.unsupported_option("MAIL parameters after HELO")
    if params.body is Body.BINARY_MIME:  # not offered: it needs BINARYMIME in EHLO
        return replies.unsupported_option("BODY=BINARYMIME")
    if params.size is not None and params.size > settings.max_message_size:
        return replies.SIZE_EXCEEDS_LIMIT
    return None


def sender_of(command: Mail) -> str:
    """The envelope sender; "" for the null path `<>`."""
    return "" if command.path.is_null else command.path.address


def new_transaction(command: Mail) -> Transaction:
    """The transaction a MAIL FROM that passed `mail_refusal` starts."""
    params = command.params
    return Transaction(
        sender=sender_of(command),
        params=MailParams(
            size=params.size,
            body=params.body.value if params.body else None,
            smtputf8=params.smtputf8,
            ret=params.ret.value if params.ret else None,
            envid=params.envid,
        ),
        smtputf8=params.smtputf8,
    )


def rcpt_refusal(state: SessionState, command: Rcpt, *, settings: SmtpSettings) -> SmtpReply | None:
    """Whether RCPT TO may be asked about at all, before routing is."""
    transaction = state.transaction
    if transaction is None:
        return replies.NEED_MAIL
    if transaction.writer is not None:
        return replies.RCPT_AFTER_BDAT
    if transaction.accepted >= settings.max_recipients:
        return replies.TOO_MANY_RECIPIENTS
    if command.path.has_routing_trick and state.account is None:
        return replies.relay_denied(command.path.mailbox)
    return None


def recipient_address(path: Path) -> str:
    """What routing is asked about: the bare `<Postmaster>` as it is (routing knows whose
    it is: RFC 5321 §4.1.1.3, routing/postmaster.py)."""
    return path.address


def route_refusal(route: Route, *, authenticated: bool, shown: str) -> SmtpReply | None:
    """None to accept the recipient, else the refusal. No open relay: a recipient in
    no domain of ours is accepted only from a logged-in member."""
    verdict, expansion = route.verdict, route.expansion
    if verdict is RecipientVerdict.SRS_BOUNCE:
        return None
    if verdict is RecipientVerdict.REMOTE and not authenticated:
        return replies.relay_denied(shown)
    if verdict is RecipientVerdict.LOCAL_UNKNOWN:
        for failure in expansion.failures:
            if failure.reason is FailureReason.NO_POSTMASTER:
                return replies.no_postmaster(shown)
            if failure.reason is FailureReason.BAD_SRS:
                return replies.unknown_user(failure.address).with_detail(failure.message[:200])
        return replies.unknown_user(shown)
    if not expansion.deliveries:
        # Known, but every branch failed (an alias into a loop, say): refusing now
        # sends no bounce to a possibly forged sender.
        if any(f.reason is FailureReason.INVALID for f in expansion.failures):
            return replies.BAD_RECIPIENT_SYNTAX.with_detail(shown)
        return replies.unknown_user(shown)
    return None


def envelope_recipients(route: Route, params: RcptParams) -> list[EnvelopeRecipient]:
    """The envelope's entries for an accepted RCPT: one per delivery routing found, with
    the account and sub-address detail it found (for local delivery and Sieve)."""
    expansion = route.expansion
    if route.verdict is RecipientVerdict.SRS_BOUNCE:
        # A bounce of mail we forwarded: it goes on to the original sender.
        return [
            EnvelopeRecipient(d.recipient, original=expansion.original, account=d.account)
            for d in expansion.deliveries
        ]
    notify = _notify(params.notify)
    original = params.orcpt.address if params.orcpt else expansion.original
    return [
        EnvelopeRecipient(
            address=delivery.recipient,
            original=original,
            notify=frozenset({"NEVER"}) if delivery.bcc else notify,
            account=delivery.account,
            detail=delivery.detail,
        )
        for delivery in expansion.deliveries
    ]


def _notify(notify: frozenset[Notify] | None) -> frozenset[str] | None:
    return frozenset(n.value for n in notify) if notify is not None else None


def data_refusal(state: SessionState) -> SmtpReply | None:
    """Whether DATA may start (RFC 5321 §4.1.1.4; never after BDAT, RFC 3030 §3)."""
    transaction = state.transaction
    if transaction is None:
        return replies.NEED_MAIL
    if transaction.writer is not None:
        return replies.DATA_AFTER_BDAT
    if not transaction.recipients:
        return replies.NO_VALID_RECIPIENTS
    return None


def bdat_refusal(state: SessionState) -> SmtpReply | None:
    """Whether a BDAT chunk may be taken; its octets are read either way (RFC 3030 §2)."""
    transaction = state.transaction
    if transaction is None:
        return replies.NEED_MAIL
    if not transaction.recipients:
        return replies.NO_VALID_RECIPIENTS
    return None


def data_failure(decoder: DataDecoder, settings: SmtpSettings) -> SmtpReply | None:
    """Why a message received with DATA is refused after its final dot, if it is."""
    if decoder.too_big:
        return replies.MESSAGE_TOO_BIG
    if decoder.line_too_long:
        return replies.DATA_LINE_TOO_LONG
    if decoder.received_headers >= settings.max_received_headers:
        return replies.TOO_MANY_HOPS
    return None


def last_chunk_failure(transaction: Transaction, settings: SmtpSettings) -> SmtpReply | None:
    """Why a message received with BDAT is refused after its LAST chunk, if it is."""
    if transaction.chunking_failed is not None:
        return transaction.chunking_failed
    if transaction.bdat_scanner.received_headers >= settings.max_received_headers:
        return replies.TOO_MANY_HOPS
    return None


def envelope_of(
    transaction: Transaction, state: SessionState, *, client_ip: str, received_at: float
) -> Envelope:
    """The envelope the queue keeps for the transaction."""
    return Envelope(
        sender=transaction.sender,
        recipients=tuple(transaction.recipients.values()),
        received_at=received_at,
        params=transaction.params,
        client=ClientInfo(helo=state.helo or "", ip=client_ip),
        authenticated=state.account,
    )
