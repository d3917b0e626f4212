"""Telling senders what became of their mail: RFC 3464 reports queued like any message.

- Failures: for each attempt that turned recipients into failures (and only for those
  whose NOTIFY asks for it), a report from the null sender to the sender.
- Delays (`delay_warning`): once per message, when recipients are still deferred that
  long after arrival, a report with Action: delayed (Postfix's delay_warning_time). It
  is checked at each delivery attempt, so it may come as late as the next retry.
- Never a report to the null sender. A bounce that fails (its sender is <>) is reported
  to the host's postmaster from double-bounce@<hostname> instead, as Postfix's "double
  bounce"; when that fails too, it is dropped (its sender is double-bounce@), so
  reports never loop. A delayed bounce is never reported at all. The report is
  addressed to postmaster@<hostname> but delivered where routing sends the bare
  `<Postmaster>` (RFC 5321 §4.1.1.3): the hostname need not be a local domain.

A report's recipient is expanded by routing before it is queued (postmaster@ is
usually an alias, and so may a sender be): the queue holds final recipients only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from mailroom.delivery.dsn import (
    Action,
    DsnRecipient,
    build_dsn,
    dsn_envelope,
    should_notify,
)
from mailroom.delivery.srs import SrsError, SrsRewriter
from mailroom.queue import (
    Envelope,
    EnvelopeRecipient,
    MailQueue,
    QueueEntry,
    QueueError,
    RecipientState,
)
from mailroom.routing import DirectoryUnavailable, Expansion
from mailroom.routing.postmaster import POSTMASTER

log = logging.getLogger("mailroom.delivery")

DOUBLE_BOUNCE_LOCAL_PART = "double-bounce"
"""Sender of reports to the postmaster about failed bounces (Postfix's name)."""


class ReportRouter(Protocol):
    """What the bouncer asks routing (mailroom.routing.Router implements it)."""

    async def expand(self, address: str) -> Expansion: ...


class Bouncer:
    def __init__(
        self,
        queue: MailQueue,
        hostname: str,
        *,
        router: ReportRouter | None = None,
        delay_warning: float | None = None,
        clock: Callable[[], float] = time.time,
        srs: SrsRewriter | None = None,
    ) -> None:
        """`router`: expands report recipients (None: sent to the address as it is).
        `delay_warning`: seconds after arrival to warn of a delay (None: never).
        `srs`: a report to one of our own SRS addresses (a forward or a Sieve redirect
        that failed) goes to the sender it stands for."""
        self.srs = srs
        self.queue = queue
        self.hostname = hostname
        self.router = router
        self.postmaster = f"postmaster@{hostname}"
        self.double_bounce_sender = f"{DOUBLE_BOUNCE_LOCAL_PART}@{hostname}"
        self.delay_warning = delay_warning
        self._clock = clock

    async def report(self, before: QueueEntry, after: QueueEntry) -> None:
        """After a delivery attempt (`before` -> `after`): report new failures, and warn
        of the delay if it is time to."""
        await self.report_failures(before, after)
        await self.warn_of_delay(after)

    async def report_failures(self, before: QueueEntry, after: QueueEntry) -> str | None:
        """Queue a DSN for the recipients that failed between `before` and `after`;
        return its queue id, or None if nobody is to be told."""
        failed = [
            new
            for old, new in zip(before.envelope.recipients, after.envelope.recipients, strict=True)
            if new.state is RecipientState.FAILED
            and old.state is not RecipientState.FAILED
            and should_notify(new.notify, "failed")
        ]
        if not failed:
            return None
        sender = after.envelope.sender
        route = dsn_envelope(
            sender, postmaster=self.postmaster, double_bounce_sender=self.double_bounce_sender
        )
        if route is None:
            log.info("%s: undeliverable double bounce dropped", after.queue_id)
            return None
        now = datetime.fromtimestamp(self._clock(), UTC)
        recipients = [
            DsnRecipient(r.address, r.last_reply, original=r.original, last_attempt=now)
            for r in failed
        ]
        queue_id = await self._queue_report(after, route, recipients, "failed", now)
        if queue_id is not None:
            kind = "postmaster" if sender == "" else "sender"
            log.info("%s: %s non-delivery notification: %s", after.queue_id, kind, queue_id)
        return queue_id

    async def warn_of_delay(self, entry: QueueEntry) -> str | None:
        """Queue the one delay warning for `entry` if it is due; return its queue id."""
        envelope = entry.envelope
        if self.delay_warning is None or envelope.delay_warned or not envelope.sender:
            return None
        now_epoch = self._clock()
        if now_epoch - envelope.received_at < self.delay_warning:
            return None
        delayed = [
            r
            for _, r in entry.unfinished()
            if r.state is RecipientState.DEFERRED and should_notify(r.notify, "delayed")
        ]
        if not delayed:
            return None
        now = datetime.fromtimestamp(now_epoch, UTC)
        until = datetime.fromtimestamp(self.queue.schedule.expires_at(envelope.received_at), UTC)
        recipients = [
            DsnRecipient(
                r.address,
                r.last_reply,
                original=r.original,
                last_attempt=now,
                will_retry_until=until,
            )
            for r in delayed
        ]
        queue_id = await self._queue_report(
            entry, ("", envelope.sender), recipients, "delayed", now
        )
        if queue_id is None:
            return None
        try:
            await self.queue.mark_delay_warned(entry.queue_id)
        except QueueError as error:
            log.error("%s: could not record the delay warning: %s", entry.queue_id, error)
        log.info("%s: sender delay notification: %s", entry.queue_id, queue_id)
        return queue_id

    async def _queue_report(
        self,
        about: QueueEntry,
        route: tuple[str, str],
        recipients: Sequence[DsnRecipient],
        action: Action,
        now: datetime,
    ) -> str | None:
        envelope_sender, recipient = route
        original = await asyncio.to_thread(self.queue.message_path(about.queue_id).read_bytes)
        params = about.envelope.params
        report = build_dsn(
            reporting_mta=self.hostname,
            original_envelope_id=params.envid,
            arrival=datetime.fromtimestamp(about.envelope.received_at, UTC),
            sender=recipient,
            recipients=recipients,
            action=action,
            ret="HDRS" if params.ret == "HDRS" else "FULL",
            message=original,
            now=now,
        )
        # No NOTIFY on the report's recipients: if the report fails, dsn_envelope sends
        # the double bounce to the postmaster, or drops it.
        bounce = Envelope(
            sender=envelope_sender,
            recipients=tuple(
                EnvelopeRecipient(address=final, original=recipient)
                for final in await self._final_recipients(recipient)
            ),
            received_at=now.timestamp(),
        )
        try:
            async with await self.queue.receive(bounce) as writer:
                await writer.write(report)
                return await writer.commit()
        except QueueError as error:
            log.error(
                "%s: could not queue the %s report to <%s>: %s",
                about.queue_id,
                action,
                recipient,
                error,
            )
            return None

    async def _final_recipients(self, address: str) -> list[str]:
        """Where a report to `address` is delivered; the address itself when routing
        cannot say (its delivery attempt then fails or defers as for any message)."""
        address = self._unwrapped(address)
        if self.router is None:
            return [address]
        try:
            # The double bounce's postmaster@<hostname> is the host's postmaster.
            expansion = await self.router.expand(
                POSTMASTER if address == self.postmaster else address
            )
        except DirectoryUnavailable:
            return [address]
        finals = list(dict.fromkeys(delivery.recipient for delivery in expansion.deliveries))
        return finals or [address]

    def _unwrapped(self, address: str) -> str:
        """The sender an SRS address of ours stands for; any other address as it is (a
        forged or expired SRS address too: its report then fails, as a double bounce)."""
        srs = self.srs
        if srs is None or address.rpartition("@")[2].lower() != srs.domain.lower():
            return address
        if not srs.is_srs(address):
            return address
        try:
            return srs.reverse(address)
        except SrsError:
            return address
