"""One SMTP or submission session: the command loop around the sans-I/O grammar.

It reads lines from the connection layer, lets `commands` parse them, asks the
authenticator, the router and the queue, and sends the replies `replies` holds.
Policy that needs no I/O (which extensions to offer, whether a recipient may be
relayed to) lives in `policy`; the `Received:` header in `received`.

A message is acknowledged with 250 only after the queue made it durable.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailroom.auth import (
    Challenge,
    Credentials,
    SaslExchange,
    SaslFailure,
    UnknownMechanism,
)
from mailroom.auth.sasl import MAX_LINE_LENGTH as SASL_MAX_LINE_LENGTH
from mailroom.net import Connection, ConnectionClosed, IdleTimeout, LineTooLong
from mailroom.queue import (
    ClientInfo,
    CommitFailed,
    Envelope,
    EnvelopeRecipient,
    MailParams,
    MessageWriter,
    QueueError,
    RecipientState,
)
from mailroom.routing import DirectoryUnavailable, InvalidRecipient
from mailroom.smtp import replies
from mailroom.smtp.commands import (
    AnyCommand,
    Auth,
    Bdat,
    Body,
    Data,
    Expn,
    Helo,
    Help,
    Mail,
    Noop,
    Notify,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
)
from mailroom.smtp.data import DataDecoder, HeaderScanner
from mailroom.smtp.policy import SessionPolicy, recipient_reply, srs_original
from mailroom.smtp.received import Arrival, received_header
from mailroom.smtp.replies import SmtpError, SmtpReply

log = logging.getLogger("mailroom.smtp")

# Content is handed to the queue in pieces of about this size.
WRITE_CHUNK = 64 * 1024


class SessionEnded(Exception):
    """The session must end now (QUIT, too many errors, timeout); the reply was sent."""


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


class SmtpSession:
    """One client's session, from greeting to goodbye."""

    def __init__(self, policy: SessionPolicy, connection: Connection) -> None:
        self.policy = policy
        self.services = policy.services
        self.connection = connection
        self.config = policy.services.config
        self.hostname = self.config.hostname
        self.helo: str | None = None
        self.extended = False
        self.account: str | None = None
        self.transaction: Transaction | None = None
        self.errors = 0
        self.enhanced_codes = True

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        log.info("connect from %s on %s", self.connection.peer, self.connection.listener_name)
        try:
            await self.send(
                replies.greeting(self.hostname, self.config.smtp.greeting or "ESMTP Mailroom")
            )
            while True:
                await self.next_command()
        except SessionEnded:
            pass
        except IdleTimeout:
            await self.send(replies.timed_out(self.hostname), quiet=True)
        finally:
            await self.abort_transaction()
            log.info("disconnect from %s", self.connection.peer)

    async def send(self, reply: SmtpReply, *, quiet: bool = False) -> None:
        """Send a reply; with pipelined commands waiting, replies are sent together."""
        self.connection.write(reply.encode(self.enhanced_codes))
        if not self.connection.has_buffered_input():
            try:
                await self.connection.drain()
            except (ConnectionError, ConnectionClosed):
                if not quiet:
                    raise

    async def refuse(self, reply: SmtpReply) -> None:
        """A client error: answer it, and end the session after too many."""
        self.errors += 1
        if self.errors >= self.policy.listener.max_bad_commands:
            await self.send(replies.too_many_errors(self.hostname))
            raise SessionEnded()
        await self.send(reply)

    async def next_command(self) -> None:
        try:
            line = await self.connection.read_line(self.config.smtp.max_command_line)
        except LineTooLong:
            await self.refuse(replies.LINE_TOO_LONG)
            return
        smtputf8 = self.transaction.smtputf8 if self.transaction else False
        try:
            command = parse_command(
                line, max_length=self.config.smtp.max_command_line, smtputf8=smtputf8
            )
        except SmtpError as error:
            await self.refuse(error.reply)
            return
        try:
            await self.dispatch(command)
        except SmtpError as error:
            await self.refuse(error.reply)
        except (ConnectionClosed, IdleTimeout, SessionEnded):
            raise
        except Exception:
            # The last resort: a bug or a failing service must cost the client a retry,
            # never the message (nothing was acknowledged) or a silent hang-up.
            log.exception(
                "%s: unexpected error in %s", self.connection.peer, type(command).__name__
            )
            await self.abort_transaction()
            await self.send(replies.TEMPORARY)

    async def dispatch(self, command: AnyCommand) -> None:
        match command:
            case Helo():
                await self.on_helo(command)
            case Mail():
                await self.on_mail(command)
            case Rcpt():
                await self.on_rcpt(command)
            case Data():
                await self.on_data()
            case Bdat():
                await self.on_bdat(command)
            case Rset():
                await self.abort_transaction()
                await self.send(replies.OK)
            case Noop():
                await self.send(replies.OK)
            case Quit():
                await self.send(replies.CLOSING, quiet=True)
                raise SessionEnded()
            case StartTls():
                await self.on_starttls()
            case Auth():
                await self.on_auth(command)
            case Vrfy():
                await self.send(replies.CANNOT_VRFY)
            case Expn():
                raise SmtpError(replies.EXPN_DISABLED)
            case Help():
                await self.send(replies.HELP)

    # -- greeting and TLS -----------------------------------------------------------------

    async def on_helo(self, command: Helo) -> None:
        await self.abort_transaction()
        self.helo = command.domain
        self.extended = command.extended
        if not command.extended:
            await self.send(replies.helo_reply(self.hostname))
            return
        extensions = self.policy.extensions(
            tls=self.connection.tls is not None, peer=self.connection.peer_ip
        )
        await self.send(replies.ehlo_reply(self.hostname, extensions))

    async def on_starttls(self) -> None:
        if self.connection.tls is not None:
            raise SmtpError(replies.TLS_ALREADY_ACTIVE)
        if not self.policy.offers_starttls:
            raise SmtpError(replies.NOT_IMPLEMENTED)
        await self.send(replies.READY_FOR_TLS)
        # RFC 3207 §4.2: forget everything learnt before TLS; the connection layer
        # drops whatever the client pipelined after STARTTLS.
        await self.connection.start_tls(self.policy.tls_context())
        await self.abort_transaction()
        self.helo = None
        self.extended = False
        self.account = None

    # -- authentication -------------------------------------------------------------------

    async def on_auth(self, command: Auth) -> None:
        if not self.policy.offers_auth:
            raise SmtpError(replies.AUTH_NOT_ENABLED)
        if self.helo is None:
            raise SmtpError(replies.NEED_HELO)
        if self.account is not None:
            raise SmtpError(replies.ALREADY_AUTHENTICATED)
        if self.transaction is not None:
            raise SmtpError(replies.AUTH_IN_TRANSACTION)
        secure = self.connection.tls is not None
        if not self.policy.may_send_password(secure=secure, peer=self.connection.peer_ip):
            raise SmtpError(replies.MECHANISM_NEEDS_ENCRYPTION)
        try:
            exchange = SaslExchange(command.mechanism)
        except UnknownMechanism:
            raise SmtpError(replies.AUTH_UNKNOWN_MECHANISM) from None
        initial = command.initial_response.encode("ascii") if command.initial_response else None
        step = exchange.start(initial)
        while isinstance(step, Challenge):
            await self.send(replies.auth_challenge(base64.b64encode(step.data).decode("ascii")))
            try:
                line = await self.connection.read_line(SASL_MAX_LINE_LENGTH + 2)
            except LineTooLong:
                raise SmtpError(replies.AUTH_RESPONSE_TOO_LONG) from None
            step = exchange.respond(line.rstrip(b"\r\n"))
        if isinstance(step, SaslFailure):
            raise SmtpError(replies.AUTH_ABORTED if step.cancelled else replies.AUTH_FAILED)
        assert isinstance(step, Credentials)
        await self.authenticate(step, secure)

    async def authenticate(self, credentials: Credentials, secure: bool) -> None:
        result = await self.services.authenticator.log_in(
            credentials,
            protocol=self.policy.listener.protocol.value,
            client_ip=self.connection.peer_ip,
            secure=secure,
        )
        if not result.ok:
            raise SmtpError(replies.AUTH_FAILED)
        self.account = result.account
        await self.send(replies.AUTH_SUCCEEDED)

    # -- the transaction -----------------------------------------------------------------

    async def on_mail(self, command: Mail) -> None:
        if self.helo is None:
            raise SmtpError(replies.NEED_HELO)
        if self.transaction is not None:
            raise SmtpError(replies.NESTED_MAIL)
        if self.policy.requires_auth and self.account is None:
            raise SmtpError(replies.AUTH_REQUIRED)
        params = command.params
        if not self.extended and params != type(params)():
            raise SmtpError(replies.unsupported_option("MAIL parameters after HELO"))
        if params.body is Body.BINARY_MIME:  # not offered: it needs BINARYMIME in EHLO
            raise SmtpError(replies.unsupported_option("BODY=BINARYMIME"))
        limit = self.config.smtp.max_message_size
        if params.size is not None and params.size > limit:
            raise SmtpError(replies.SIZE_EXCEEDS_LIMIT)
        sender = "" if command.path.is_null else command.path.address
        if (
            self.account is not None
            and sender
            and not await self.services.router.may_send_as(self.account, sender)
        ):
            log.info(
                "%s: sender <%s> refused for login %s", self.connection.peer, sender, self.account
            )
            raise SmtpError(replies.sender_not_owned(sender, self.account))
        self.transaction = Transaction(
            sender=sender,
            params=MailParams(
                size=params.size,
                body=params.body.value if params.body else None,
                smtputf8=params.smtputf8,
                ret=params.ret.value if params.ret else None,
                envid=params.envid,
            ),
            smtputf8=params.smtputf8,
        )
        await self.send(replies.SENDER_OK)

    async def on_rcpt(self, command: Rcpt) -> None:
        transaction = self.transaction
        if transaction is None:
            raise SmtpError(replies.NEED_MAIL)
        if transaction.writer is not None:
            raise SmtpError(replies.RCPT_AFTER_BDAT)
        if transaction.accepted >= self.config.smtp.max_recipients:
            raise SmtpError(replies.TOO_MANY_RECIPIENTS)
        path = command.path
        address = f"postmaster@{self.hostname}" if path.is_bare_postmaster else path.address
        authenticated = self.account is not None
        if path.has_routing_trick and not authenticated:
            raise SmtpError(replies.relay_denied(path.mailbox))
        bounced_to = srs_original(self.services.srs, address)
        if bounced_to is not None:
            # A bounce of mail we forwarded: it goes on to the original sender.
            await self.accept(transaction, [EnvelopeRecipient(bounced_to, original=address)])
            return
        router = self.services.router
        try:
            verdict = await router.check(address)
            expansion = await router.expand(address)
        except InvalidRecipient as error:
            raise SmtpError(replies.BAD_RECIPIENT_SYNTAX.with_detail(str(error))) from None
        except DirectoryUnavailable:
            raise SmtpError(replies.TEMPORARY) from None
        refusal = recipient_reply(
            verdict, expansion, authenticated=authenticated, shown=path.mailbox
        )
        if refusal is not None:
            log.info(
                "%s: RCPT <%s> refused: %s %s",
                self.connection.peer,
                address,
                refusal.code,
                refusal.text,
            )
            raise SmtpError(refusal)
        notify = _notify(command.params.notify)
        original = command.params.orcpt.address if command.params.orcpt else expansion.original
        for failure in expansion.failures:
            log.warning(
                "%s: RCPT <%s>: %s (%s)",
                self.connection.peer,
                address,
                failure.reason.value,
                failure.message,
            )
        await self.accept(
            transaction,
            [
                EnvelopeRecipient(
                    address=delivery.recipient,
                    original=original,
                    notify=frozenset({"NEVER"}) if delivery.bcc else notify,
                )
                for delivery in expansion.deliveries
            ],
        )

    async def accept(self, transaction: Transaction, recipients: list[EnvelopeRecipient]) -> None:
        """A RCPT answered 250: its final recipients join the envelope, once each."""
        for recipient in recipients:
            transaction.recipients.setdefault(recipient.address, recipient)
        transaction.accepted += 1
        await self.send(replies.RECIPIENT_OK)

    async def on_data(self) -> None:
        transaction = self.transaction
        if transaction is None:
            raise SmtpError(replies.NEED_MAIL)
        if transaction.writer is not None:
            raise SmtpError(replies.DATA_AFTER_BDAT)
        if not transaction.recipients:
            raise SmtpError(replies.NO_VALID_RECIPIENTS)
        writer = await self.open_queue_file(transaction)
        await self.send(replies.START_DATA)
        decoder = DataDecoder(
            max_size=self.config.smtp.max_message_size,
            max_line_length=self.config.smtp.max_data_line,
        )
        pending = bytearray()
        failed: SmtpReply | None = None
        while True:
            try:
                line = await self.connection.read_line(self.config.smtp.max_data_line + 2)
            except LineTooLong as error:
                decoder.discard_overlong_line(ended_with_crlf=error.ended_with_crlf)
                continue
            content = decoder.feed(line)
            if content is None:
                break
            if failed is not None or not content:
                continue
            pending += content
            if len(pending) >= WRITE_CHUNK:
                failed = await self.write_content(writer, pending)
        if failed is None and pending:
            failed = await self.write_content(writer, pending)
        if decoder.bare_lf_count or decoder.bare_cr_count:
            log.info(
                "%s: message with %d bare LF line ending(s), %d bare CR(s) (normalised)",
                self.connection.peer,
                decoder.bare_lf_count,
                decoder.bare_cr_count,
            )
        if decoder.too_big:
            failed = replies.MESSAGE_TOO_BIG
        elif decoder.line_too_long:
            failed = replies.DATA_LINE_TOO_LONG
        elif decoder.received_headers >= self.config.smtp.max_received_headers:
            failed = replies.TOO_MANY_HOPS
        await self.finish_message(transaction, failed)

    async def on_bdat(self, command: Bdat) -> None:
        """RFC 3030 CHUNKING: the chunk is read whatever happens, then answered."""
        transaction = self.transaction
        if transaction is None or not transaction.recipients:
            await self.skip_octets(command.size)
            raise SmtpError(
                replies.NEED_MAIL if transaction is None else replies.NO_VALID_RECIPIENTS
            )
        if transaction.writer is None:
            transaction.writer = await self.open_queue_file(transaction)
        writer = transaction.writer
        limit = self.config.smtp.max_message_size
        remaining = command.size
        while remaining:
            piece = await self.connection.read_exactly(min(remaining, WRITE_CHUNK))
            remaining -= len(piece)
            if transaction.chunking_failed is not None:
                continue
            transaction.bdat_size += len(piece)
            if transaction.bdat_size > limit:
                transaction.chunking_failed = replies.MESSAGE_TOO_BIG
                continue
            transaction.bdat_scanner.feed(piece)
            transaction.chunking_failed = await self.write_content(writer, piece)
        if not command.last:
            if transaction.chunking_failed is not None:
                refusal = transaction.chunking_failed
                await self.abort_transaction()
                raise SmtpError(refusal)
            await self.send(replies.chunk_received(command.size))
            return
        failed = transaction.chunking_failed
        if failed is None and transaction.bdat_scanner.received_headers >= (
            self.config.smtp.max_received_headers
        ):
            failed = replies.TOO_MANY_HOPS
        await self.finish_message(transaction, failed)

    async def skip_octets(self, size: int) -> None:
        remaining = size
        while remaining:
            remaining -= len(await self.connection.read_exactly(min(remaining, WRITE_CHUNK)))

    async def open_queue_file(self, transaction: Transaction) -> MessageWriter:
        """A new queue file that starts with our Received: header."""
        tls = self.connection.tls
        envelope = self.envelope(transaction)
        try:
            writer = await self.services.queue.receive(envelope)
            first = next(iter(transaction.recipients.values()))
            single = first.original if transaction.accepted == 1 else None
            await writer.write(
                received_header(
                    Arrival(
                        helo=self.helo or "unknown",
                        client_ip=str(self.connection.peer_ip),
                        client_hostname=None,
                        server_hostname=self.hostname,
                        queue_id=writer.queue_id,
                        tls_version=tls.version if tls else None,
                        tls_cipher=tls.cipher if tls else None,
                        authenticated=self.account is not None,
                        extended=self.extended,
                        single_recipient=single,
                        when=datetime.now(UTC),
                    )
                )
            )
        except (QueueError, OSError) as error:
            log.error("%s: cannot open a queue file: %s", self.connection.peer, error)
            raise SmtpError(replies.QUEUE_WRITE_ERROR) from None
        transaction.writer = writer
        return writer

    async def write_content(
        self, writer: MessageWriter, pending: bytearray | bytes
    ) -> SmtpReply | None:
        try:
            await writer.write(bytes(pending))
        except (QueueError, OSError) as error:
            log.error(
                "%s: %s: queue file write error: %s", self.connection.peer, writer.queue_id, error
            )
            return replies.QUEUE_WRITE_ERROR
        finally:
            if isinstance(pending, bytearray):
                pending.clear()
        return None

    async def finish_message(self, transaction: Transaction, failed: SmtpReply | None) -> None:
        """Commit the message (250 only once it is durable) or drop it with `failed`."""
        writer = transaction.writer
        assert writer is not None
        if failed is not None:
            await self.abort_transaction()
            raise SmtpError(failed)
        envelope = self.envelope(transaction)
        try:
            if self.services.delivery is not None:
                await writer.flush()
                envelope = await self.services.delivery.deliver_now(
                    writer.queue_id, writer.path, envelope
                )
                if all(r.state is RecipientState.DELIVERED for r in envelope.recipients):
                    await self.delivered_at_once(transaction, writer, envelope)
                    return
            queue_id = await writer.commit(envelope)
        except (CommitFailed, QueueError, OSError) as error:
            log.error("%s: %s: commit failed: %s", self.connection.peer, writer.queue_id, error)
            transaction.writer = None
            await self.abort_transaction()
            raise SmtpError(replies.QUEUE_WRITE_ERROR) from None
        log.info(
            "%s: client=%s, helo=%s%s",
            queue_id,
            self.connection.peer,
            self.helo,
            f", sasl_username={self.account}" if self.account else "",
        )
        self.transaction = None
        await self.send(replies.queued(queue_id))

    async def delivered_at_once(
        self, transaction: Transaction, writer: MessageWriter, envelope: Envelope
    ) -> None:
        """Every recipient has it in a fsynced Maildir: the queue file is not needed."""
        log.info(
            "%s: client=%s, helo=%s%s",
            writer.queue_id,
            self.connection.peer,
            self.helo,
            f", sasl_username={self.account}" if self.account else "",
        )
        log.info(
            "%s: from=<%s>, size=%d, nrcpt=%d (delivered at once)",
            writer.queue_id,
            envelope.sender,
            writer.size,
            len(envelope.recipients),
        )
        transaction.writer = None
        self.transaction = None
        await writer.abort()
        await self.send(replies.queued(writer.queue_id))

    def envelope(self, transaction: Transaction) -> Envelope:
        return Envelope(
            sender=transaction.sender,
            recipients=tuple(transaction.recipients.values()),
            received_at=time.time(),
            params=transaction.params,
            client=ClientInfo(helo=self.helo or "", ip=str(self.connection.peer_ip)),
            authenticated=self.account,
        )

    async def abort_transaction(self) -> None:
        transaction, self.transaction = self.transaction, None
        if transaction is not None and transaction.writer is not None:
            try:
                await transaction.writer.abort()
            except (QueueError, OSError) as error:
                log.warning(
                    "%s: could not remove an aborted queue file: %s",
                    transaction.writer.queue_id,
                    error,
                )


def _notify(notify: frozenset[Notify] | None) -> frozenset[str] | None:
    return frozenset(n.value for n in notify) if notify is not None else None
