"""Receiving one message: DATA or BDAT chunks into a queue file, then delivered at once
or committed, and the reply. A message is acknowledged with 250 only once it is on
stable storage (DESIGN.md): in every recipient's fsynced Maildir, or in the queue.

The session hands over each DATA and BDAT command; which may come when is asked of
`transaction`, as the session asks it for the other commands. The content goes to the
queue in pieces of about `WRITE_CHUNK` octets, never held whole in memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from mailroom.metrics import MESSAGES_RECEIVED
from mailroom.net import Connection, LineTooLong
from mailroom.queue import CommitFailed, Envelope, MessageWriter, QueueError, RecipientState
from mailroom.smtp import replies
from mailroom.smtp.commands import Bdat
from mailroom.smtp.data import DataDecoder
from mailroom.smtp.policy import InboundMessage, SmtpServices
from mailroom.smtp.received import Arrival, received_header
from mailroom.smtp.replies import SmtpError, SmtpReply
from mailroom.smtp.transaction import (
    SessionState,
    Transaction,
    bdat_refusal,
    data_failure,
    data_refusal,
    envelope_of,
    last_chunk_failure,
    refuse_if,
)

log = logging.getLogger("mailroom.smtp")

WRITE_CHUNK = 64 * 1024
"""Content is handed to the queue in pieces of about this size."""

SendReply = Callable[[SmtpReply], Awaitable[None]]


class MessageReception:
    """The DATA and BDAT commands of one session, and the queue file they fill."""

    def __init__(
        self,
        connection: Connection,
        services: SmtpServices,
        state: SessionState,
        send: SendReply,
        *,
        inbound: bool = False,
    ) -> None:
        self.connection = connection
        self.services = services
        self.settings = services.settings
        self.hostname = services.settings.hostname
        self.state = state
        """The session's own: the transaction is read from it and ended in it."""
        self.send = send
        self.inbound = inbound
        """Port 25 (an smtp listener): mail from outside is checked (`inbound_check`)."""

    async def data(self) -> None:
        """DATA (RFC 5321 §4.1.1.4): 354, the message up to its dot, then 250; or the
        SmtpError of why not."""
        refuse_if(data_refusal(self.state))
        transaction = self.state.transaction
        assert transaction is not None
        writer = await self.open_queue_file(transaction)
        await self.send(replies.START_DATA)
        settings = self.settings
        decoder = DataDecoder(
            max_size=settings.max_message_size, max_line_length=settings.max_data_line
        )
        pending = bytearray()
        failed: SmtpReply | None = None
        connection = self.connection
        while True:
            # Whole lines already here are taken many at once (DataDecoder.feed_block);
            # a line not complete yet is waited for with read_line. What the client sent
            # after the end of the data (pipelined commands) is never read here.
            block = connection.buffered_lines(settings.max_data_line)
            if block:
                taken, stored = decoder.feed_block(block)
                connection.consume(taken)
                if failed is None and stored:
                    pending += stored
                    if len(pending) >= WRITE_CHUNK:
                        failed = await self.write_content(writer, pending)
                if decoder.done:
                    break
                continue
            try:
                line = await connection.read_line(settings.max_data_line + 2)
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
        refusal = data_failure(decoder, settings)
        await self.finish_message(transaction, failed if refusal is None else refusal)

    async def bdat(self, command: Bdat) -> bool:
        """RFC 3030 CHUNKING: the chunk is read whatever happens, then answered. True
        when it was the LAST chunk and the message was accepted."""
        refusal = bdat_refusal(self.state)
        if refusal is not None:
            await self.skip_octets(command.size)
            raise SmtpError(refusal)
        transaction = self.state.transaction
        assert transaction is not None
        if transaction.writer is None:
            transaction.writer = await self.open_queue_file(transaction)
        writer = transaction.writer
        remaining = command.size
        while remaining:
            piece = await self.connection.read_exactly(min(remaining, WRITE_CHUNK))
            remaining -= len(piece)
            if transaction.take_chunk(piece, self.settings.max_message_size):
                transaction.chunking_failed = await self.write_content(writer, piece)
        if not command.last:
            if transaction.chunking_failed is not None:
                refusal = transaction.chunking_failed
                await self.abort()
                raise SmtpError(refusal)
            await self.send(replies.chunk_received(command.size))
            return False
        await self.finish_message(transaction, last_chunk_failure(transaction, self.settings))
        return True

    async def skip_octets(self, size: int) -> None:
        remaining = size
        while remaining:
            remaining -= len(await self.connection.read_exactly(min(remaining, WRITE_CHUNK)))

    async def open_queue_file(self, transaction: Transaction) -> MessageWriter:
        """A new queue file that starts with our Received: header."""
        tls = self.connection.tls
        try:
            writer = await self.services.queue.receive(self.envelope(transaction))
            await writer.write(
                received_header(
                    Arrival(
                        helo=self.state.helo or "unknown",
                        client_ip=str(self.connection.peer_ip),
                        client_hostname=None,
                        server_hostname=self.hostname,
                        queue_id=writer.queue_id,
                        tls_version=tls.version if tls else None,
                        tls_cipher=tls.cipher if tls else None,
                        authenticated=self.state.account is not None,
                        extended=self.state.extended,
                        single_recipient=transaction.single_recipient(),
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
            await self.abort()
            raise SmtpError(failed)
        envelope = await self.check_inbound(writer, self.envelope(transaction))
        try:
            if self.services.delivery is not None:
                # A small message is still all in memory: delivered from there, with no
                # queue file written and read back (it is written only if some
                # recipient must wait in the queue: commit below).
                content = writer.in_memory()
                if content is None:
                    await writer.flush()
                envelope = await self.services.delivery.deliver_now(
                    writer.queue_id, writer.path if content is None else content, envelope
                )
                if all(r.state is RecipientState.DELIVERED for r in envelope.recipients):
                    await self.delivered_at_once(transaction, writer, envelope)
                    return
                refusal = refusal_of(envelope)
                if refusal is not None:
                    log.info("%s: refused at delivery: %s", writer.queue_id, refusal.text)
                    await self.abort()
                    raise SmtpError(refusal)
            queue_id = await writer.commit(envelope)
        except (CommitFailed, QueueError, OSError) as error:
            log.error("%s: %s: commit failed: %s", self.connection.peer, writer.queue_id, error)
            transaction.writer = None
            await self.abort()
            raise SmtpError(replies.QUEUE_WRITE_ERROR) from None
        self.log_client(queue_id)
        self.count_received()
        self.state.transaction = None
        await self.send(replies.queued(queue_id))

    async def check_inbound(self, writer: MessageWriter, envelope: Envelope) -> Envelope:
        """The inbound check (mail authentication) of a message from outside on port 25:
        its header written into the queue file, its notes into the envelope; a refusal
        drops the message and raises SmtpError."""
        check = self.services.inbound_check
        if check is None or not self.inbound or self.state.account is not None:
            return envelope
        try:
            await writer.flush()
            verdict = await check.check(
                InboundMessage(
                    path=writer.path,
                    queue_id=writer.queue_id,
                    client_ip=str(self.connection.peer_ip),
                    helo=self.state.helo or "",
                    sender=envelope.sender,
                    recipients=tuple(r.address for r in envelope.recipients),
                )
            )
            if verdict.refusal is None:
                await writer.replace_head(verdict.replaced, verdict.head)
        except (QueueError, OSError) as error:
            log.error("%s: %s: inbound check: %s", self.connection.peer, writer.queue_id, error)
            await self.abort()
            raise SmtpError(replies.QUEUE_WRITE_ERROR) from None
        if verdict.refusal is not None:
            log.info("%s: refused: %s", writer.queue_id, verdict.refusal.text)
            await self.abort()
            raise SmtpError(verdict.refusal)
        if not verdict.notes:
            return envelope
        return replace(envelope, extra={**envelope.extra, **dict(verdict.notes)})

    async def delivered_at_once(
        self, transaction: Transaction, writer: MessageWriter, envelope: Envelope
    ) -> None:
        """Every recipient has it in a fsynced Maildir: the queue file is not needed.
        One log line says what `log_client` and the queue's `from=` line would (a log
        record costs about 3 % of the event loop's time per message at this rate)."""
        self.count_received()
        account = self.state.account
        log.info(
            "%s: client=%s, helo=%s%s, from=<%s>, size=%d, nrcpt=%d (delivered at once)",
            writer.queue_id,
            self.connection.peer,
            self.state.helo,
            f", sasl_username={account}" if account else "",
            envelope.sender,
            writer.size,
            len(envelope.recipients),
        )
        transaction.writer = None
        self.state.transaction = None
        await writer.abort()
        await self.send(replies.queued(writer.queue_id))

    def log_client(self, queue_id: str) -> None:
        """Postfix's smtpd line for an accepted message."""
        account = self.state.account
        log.info(
            "%s: client=%s, helo=%s%s",
            queue_id,
            self.connection.peer,
            self.state.helo,
            f", sasl_username={account}" if account else "",
        )

    def count_received(self) -> None:
        """One more message accepted (on stable storage, about to be answered 250)."""
        MESSAGES_RECEIVED.labels("smtp" if self.inbound else "submission").inc()

    def envelope(self, transaction: Transaction) -> Envelope:
        return envelope_of(
            transaction,
            self.state,
            client_ip=str(self.connection.peer_ip),
            received_at=time.time(),
        )

    async def abort(self) -> None:
        """Drop the transaction, and its queue file if one was opened (nothing of it
        was acknowledged)."""
        transaction, self.state.transaction = self.state.transaction, None
        if transaction is not None and transaction.writer is not None:
            try:
                await transaction.writer.abort()
            except (QueueError, OSError) as error:
                log.warning(
                    "%s: could not remove an aborted queue file: %s",
                    transaction.writer.queue_id,
                    error,
                )


def refusal_of(envelope: Envelope) -> SmtpReply | None:
    """The reply when delivery refused every recipient at once (a Sieve ereject for the
    message's only recipient, RFC 5429 §2.1.1: "550 5.7.1 reason"); None otherwise."""
    if not all(r.state is RecipientState.FAILED for r in envelope.recipients):
        return None
    code, _, rest = envelope.recipients[0].last_reply.partition(" ")
    enhanced, _, text = rest.partition(" ")
    try:
        return SmtpReply(int(code), enhanced, text or "rejected")
    except ValueError:
        return SmtpReply(550, "5.7.1", "rejected")
