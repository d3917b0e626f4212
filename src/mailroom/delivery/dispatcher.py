"""Delivering messages: from the queue when they are due, and at once while the SMTP
client waits.

Local recipients go into their Maildirs through `local`; mail for other domains goes
through `outbound` (transports, relay host or MX; one transaction per domain),
retried on the queue's schedule while it fails temporarily. Every result is recorded
in the queue before the message is released or removed, so a crash repeats a delivery
at worst; recipients that fail for good are reported to the sender by `bounces`.

`deliver_now` is the LMTP-like fast path (DESIGN.md): a message for local accounts
is written into their Maildirs (each fsynced) before the client hears 250, and
never touches the queue; whatever could not be delivered at once is queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, Protocol

from mailroom.delivery.bounces import Bouncer
from mailroom.delivery.local import QUARANTINE_NOTE, LocalDelivery, LocalResult, LocalStatus
from mailroom.delivery.outbound import Outbound
from mailroom.delivery.remote import RemoteStatus
from mailroom.metrics import DELIVERY_LATENCY, MESSAGES_DELIVERED
from mailroom.queue import (
    Envelope,
    EnvelopeRecipient,
    MailQueue,
    QueueEntry,
    QueueError,
    RecipientResult,
    RecipientState,
    UnknownMessage,
)
from mailroom.routing import DirectoryUnavailable, InvalidRecipient, RecipientVerdict

log = logging.getLogger("mailroom.delivery")

# Messages delivered at once; each takes a thread while it writes to disk.
CONCURRENCY = 16
AT_ONCE_PER_MESSAGE = 16
"""Recipients of one message `deliver_now` writes side by side."""


class LocalAccount(Protocol):
    """What delivery needs of an account routing found (mailroom.directory.Account)."""

    @property
    def address(self) -> str: ...

    @property
    def quota_bytes(self) -> int | None: ...

    @property
    def extra_addresses(self) -> tuple[str, ...]: ...


class DeliveryRouter(Protocol):
    """What delivery asks routing (mailroom.routing.Router implements it)."""

    async def check(self, address: str) -> RecipientVerdict: ...

    async def account(self, address: str) -> LocalAccount | None: ...


class Dispatcher:
    def __init__(
        self,
        queue: MailQueue,
        router: DeliveryRouter,
        local: LocalDelivery,
        *,
        outbound: Outbound,
        bouncer: Bouncer,
    ) -> None:
        self.queue = queue
        self.router = router
        self.local = local
        self.outbound = outbound
        self.bouncer = bouncer
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress = asyncio.Event()

    async def settled(self) -> None:
        """Return once nothing is being delivered and nothing queued is due now (mail
        waiting for a later retry does not count). For tests and orderly shutdown."""
        while True:
            next_due = self.queue.next_due()
            if not self._tasks and (next_due is None or next_due > time.time()):
                return
            self._progress.clear()
            await self._progress.wait()

    async def run(self) -> None:
        """Deliver due messages until cancelled."""
        try:
            while True:
                await self.queue.wait_for_work()
                for entry in await self.queue.due():
                    await self._slots.acquire()
                    task = asyncio.create_task(self._deliver_released(entry))
                    self._tasks.add(task)
                    task.add_done_callback(self._task_done)
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks))

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._progress.set()

    async def _deliver_released(self, entry: QueueEntry) -> None:
        try:
            await self.deliver(entry)
        except Exception:
            log.exception(
                "%s: delivery failed unexpectedly; the message stays queued", entry.queue_id
            )
            self.queue.release(entry.queue_id)
        finally:
            self._slots.release()

    async def deliver_now(
        self, queue_id: str, message: Path | bytes, envelope: Envelope
    ) -> Envelope:
        """Deliver the local recipients of a message not yet queued (a file, or the whole
        message in memory); return the envelope with those delivered marked so (the rest
        stay pending, for the queue). The recipients are delivered side by side (at most
        `AT_ONCE_PER_MESSAGE` at a time), so that their fsyncs overlap: the file system
        commits them together, and ten recipients cost about what one does."""
        slots = asyncio.Semaphore(AT_ONCE_PER_MESSAGE)

        async def one(recipient: EnvelopeRecipient) -> EnvelopeRecipient:
            async with slots:
                return await self._deliver_now_to(queue_id, message, envelope, recipient)

        if len(envelope.recipients) == 1:
            recipients = [
                await self._deliver_now_to(queue_id, message, envelope, envelope.recipients[0])
            ]
        else:
            recipients = await asyncio.gather(*map(one, envelope.recipients))
        return replace(envelope, recipients=tuple(recipients))

    async def _deliver_now_to(
        self,
        queue_id: str,
        message: Path | bytes,
        envelope: Envelope,
        recipient: EnvelopeRecipient,
    ) -> EnvelopeRecipient:
        """One recipient of `deliver_now`: marked DELIVERED, or FAILED for a refusal in
        the transaction, or as it was (for the queue)."""
        try:
            account = await self.router.account(_routed_account(recipient))
        except DirectoryUnavailable:
            account = None  # the queue will try again
        if account is None:
            return recipient
        local = await self.deliver_to_account(
            queue_id,
            message if isinstance(message, Path) else BytesIO(message),
            envelope.sender,
            recipient,
            account,
            quarantine=envelope.extra.get(QUARANTINE_NOTE),
        )
        result = recipient_result(local)
        if result.state is RecipientState.DELIVERED:
            MESSAGES_DELIVERED.inc()
            DELIVERY_LATENCY.observe(max(0.0, time.time() - envelope.received_at))
            return replace(
                recipient, state=RecipientState.DELIVERED, last_reply=result.reply, attempts=1
            )
        if local.smtp_refusal and len(envelope.recipients) == 1:
            # RFC 5429 §2.1.1: ereject refuses in the transaction itself when the
            # refusal can be the reply to this message's only recipient; with more
            # recipients it falls back to a DSN (§2.1.2), from the queue's attempt.
            return replace(
                recipient, state=RecipientState.FAILED, last_reply=f"550 {local.reason}", attempts=1
            )
        return recipient

    async def deliver(self, entry: QueueEntry) -> None:
        """Try every unfinished recipient of `entry` once, record the results, tell the
        sender of new failures (and of a long delay), then remove or release the message.

        Each remote transaction's results are recorded (durably) as soon as it ends,
        before the next domain is tried or anything else is done: once a host has
        answered 250, a crash must not send the message there again. What remains is
        the window from the moment the 250 is read off the socket until the new
        envelope's rename and the fsync of `active/` have finished (the envelope is
        written and fsynced, renamed over the old one, then the directory is fsynced;
        QUIT is not waited for): a crash inside it, or a shutdown that cancels the
        attempt inside it, sends the message to that host once more after the
        restart. That is the duplicate RFC 1047 describes, which Postfix also has
        between the remote reply and its queue file update.
        """
        queue_id = entry.queue_id
        results: dict[int, RecipientResult] = {}
        message = self.queue.message_path(queue_id)
        sender = entry.envelope.sender
        remote: dict[str, list[int]] = {}
        for index, recipient in entry.unfinished():
            result = await self.deliver_one(
                queue_id,
                message,
                sender,
                recipient,
                quarantine=entry.envelope.extra.get(QUARANTINE_NOTE),
            )
            if result is None:  # for another host: sent below, one transaction per domain
                remote.setdefault(recipient.address.rpartition("@")[2], []).append(index)
            else:
                results[index] = result
        recipients = entry.envelope.recipients
        try:
            for domain, indexes in remote.items():
                if results:
                    await self.queue.update(queue_id, results)
                results = await self.send_remote(
                    queue_id,
                    message,
                    sender,
                    domain,
                    {i: recipients[i].address for i in indexes},
                    # Mail a member submitted is theirs, not forwarded: never ARC-sealed.
                    forwarded_for=()
                    if entry.envelope.authenticated
                    else tuple(recipients[i].original for i in indexes),
                )
            await self.queue.finish(
                queue_id,
                results,
                before_removal=lambda after: self.bouncer.report(entry, after),
            )
        except UnknownMessage:
            log.info("%s: removed by the administrator during a delivery attempt", queue_id)
        except QueueError as error:
            log.error("%s: could not record delivery results (%s); will retry", queue_id, error)
            self.queue.release(queue_id)

    async def send_remote(
        self,
        queue_id: str,
        message: Path,
        sender: str,
        domain: str,
        addresses: dict[int, str],
        *,
        forwarded_for: tuple[str, ...] = (),
    ) -> dict[int, RecipientResult]:
        """One attempt for the recipients (by envelope index) of one domain;
        `forwarded_for`: what `Outbound.send` takes."""
        outcome = await self.outbound.send(
            queue_id,
            message,
            sender,
            list(dict.fromkeys(addresses.values())),
            domain,
            forwarded_for=forwarded_for,
        )
        results = {}
        for index, address in addresses.items():
            result = outcome[address]
            if result.status is RemoteStatus.DELIVERED:
                results[index] = RecipientResult.delivered(result.reply)
            elif result.status is RemoteStatus.DEFERRED:
                results[index] = RecipientResult.deferred(result.reply)
            else:
                results[index] = RecipientResult.failed(result.reply)
        return results

    async def deliver_one(
        self,
        queue_id: str,
        message: Path,
        sender: str,
        recipient: EnvelopeRecipient,
        *,
        quarantine: str | None = None,
    ) -> RecipientResult | None:
        """One attempt at a local recipient of the message stored at `message`; None
        for a recipient on another host (the caller sends those per domain)."""
        try:
            account = await self.router.account(_routed_account(recipient))
            if account is not None:
                return await self.deliver_locally(
                    queue_id, message, sender, recipient, account, quarantine=quarantine
                )
            verdict = await self.router.check(recipient.address)
        except InvalidRecipient as error:
            return RecipientResult.failed(f"5.1.3 {error}")
        except DirectoryUnavailable:
            return RecipientResult.deferred("4.3.0 the directory is unavailable")
        if verdict in (RecipientVerdict.RELAY, RecipientVerdict.REMOTE):
            return None
        log.info("%s: to=<%s>, status=bounced (no such account)", queue_id, recipient.address)
        return RecipientResult.failed("5.1.1 no such account")

    async def deliver_locally(
        self,
        queue_id: str,
        message: Path,
        sender: str,
        recipient: EnvelopeRecipient,
        account: LocalAccount,
        *,
        quarantine: str | None = None,
    ) -> RecipientResult:
        """Into the account's Maildir; a full mailbox is a temporary failure."""
        return recipient_result(
            await self.deliver_to_account(
                queue_id, message, sender, recipient, account, quarantine=quarantine
            )
        )

    async def deliver_to_account(
        self,
        queue_id: str,
        message: Path | BinaryIO,
        sender: str,
        recipient: EnvelopeRecipient,
        account: LocalAccount,
        *,
        quarantine: str | None = None,
    ) -> LocalResult:
        """`quarantine`: the folder the inbound check's quarantine asks for (local.py)."""
        return await self.local.deliver(
            message,
            sender=sender,
            recipient=account.address,
            original_recipient=recipient.address,
            detail=recipient.detail,
            quota_bytes=account.quota_bytes,
            queue_id=queue_id,
            own_addresses=account.extra_addresses,
            quarantine_folder=quarantine,
        )


def recipient_result(result: LocalResult) -> RecipientResult:
    """What the queue records of a local delivery's result."""
    if result.status is LocalStatus.DELIVERED:
        return RecipientResult.delivered(result.reason)
    if result.status is LocalStatus.TEMPORARY_FAILURE:
        return RecipientResult.deferred(result.reason)
    return RecipientResult.failed(result.reason)


def _routed_account(recipient: EnvelopeRecipient) -> str:
    """The account routing delivered the recipient to at RCPT time; for envelopes queued
    before it was recorded (and for remote recipients), the recipient's address, which
    for a local delivery is that account's primary address."""
    return recipient.account or recipient.address
