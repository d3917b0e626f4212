"""Telling senders what failed: an RFC 3464 report queued like any message, from the
null sender, for each attempt that turned recipients into failures (and only for
those whose NOTIFY asks for it). Never a report to the null sender."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from mailroom.delivery.dsn import DsnRecipient, build_dsn, dsn_envelope, should_notify
from mailroom.queue import (
    Envelope,
    EnvelopeRecipient,
    MailQueue,
    QueueEntry,
    QueueError,
    RecipientState,
)

log = logging.getLogger("mailroom.delivery")


class Bouncer:
    def __init__(self, queue: MailQueue, hostname: str) -> None:
        self.queue = queue
        self.hostname = hostname

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
        sender = after.envelope.sender
        route = dsn_envelope(sender)
        if not failed or route is None:
            if failed:
                log.info("%s: no bounce for a message from the null sender", after.queue_id)
            return None
        envelope_sender, recipient = route
        now = datetime.now(UTC)
        original = await asyncio.to_thread(self.queue.message_path(after.queue_id).read_bytes)
        params = after.envelope.params
        report = build_dsn(
            reporting_mta=self.hostname,
            original_envelope_id=params.envid,
            arrival=datetime.fromtimestamp(after.envelope.received_at, UTC),
            sender=sender,
            recipients=[
                DsnRecipient(r.address, r.last_reply, original=r.original, last_attempt=now)
                for r in failed
            ],
            action="failed",
            ret="HDRS" if params.ret == "HDRS" else "FULL",
            message=original,
            now=now,
        )
        bounce = Envelope(
            sender=envelope_sender,
            recipients=(
                EnvelopeRecipient(
                    address=recipient, original=recipient, notify=frozenset({"NEVER"})
                ),
            ),
            received_at=now.timestamp(),
        )
        try:
            writer = await self.queue.receive(bounce)
            await writer.write(report)
            queue_id = await writer.commit()
        except QueueError as error:
            log.error(
                "%s: could not queue the bounce to <%s>: %s", after.queue_id, recipient, error
            )
            return None
        log.info("%s: sender non-delivery notification: %s", after.queue_id, queue_id)
        return queue_id
