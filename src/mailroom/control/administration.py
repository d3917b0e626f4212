"""What `mailroom queue flush|hold|release|delete|bounce` does to queued messages, like
Postfix's `postqueue -f` and `postsuper -h/-H/-d/-e`.

Run by the server for requests on its control channel, or by the command itself when
no server runs (it then holds the queue's lock). Each message is acted on by itself,
and what became of it is reported by queue id, so one unknown id does not stop the rest.

- flush: every deferred recipient is due now (the schedule goes on from there).
- hold / release: a held message is never handed to delivery; an attempt under way
  finishes first, and its results keep the hold.
- delete: removed without a report to anyone. An attempt under way is waited for, so
  the removal never races a delivery.
- bounce: every unfinished recipient fails with 5.0.0, the sender gets a DSN (as for
  any failure, honouring NOTIFY; never to <>), and the message is removed.

Writing the DSN is delivery's job (`delivery.bounces.Bouncer`); it is handed in as a
`FailureReports`, so this room needs only the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from mailroom.control.protocol import ControlCommand, ControlRequest
from mailroom.queue import MailQueue, QueueEntry, RecipientResult, UnknownMessage

# The mail log, where every other step of a message's life is told (as Postfix logs
# postsuper's actions with its deliveries).
log = logging.getLogger("mailroom.delivery")

NOT_QUEUED = "not in the queue"
BOUNCE_REPLY = "5.0.0 Message returned to the sender by the mail administrator"


class FailureReports(Protocol):
    async def report_failures(self, before: QueueEntry, after: QueueEntry) -> str | None:
        """Queue a DSN for the recipients that failed between `before` and `after`;
        return its queue id, or None if nobody is to be told."""
        ...


class QueueAdministration:
    def __init__(self, queue: MailQueue, bouncer: FailureReports) -> None:
        self.queue = queue
        self.bouncer = bouncer

    async def handle(self, request: ControlRequest) -> dict[str, str]:
        """Do what `request` asks to each message it names (all, if it names none)."""
        action = self._actions()[request.command]
        if request.queue_ids is None:
            queue_ids = [entry.queue_id for entry in await self.queue.entries()]
        else:
            queue_ids = list(dict.fromkeys(request.queue_ids))
        results = {}
        for queue_id in queue_ids:
            try:
                results[queue_id] = await action(queue_id)
            except UnknownMessage:
                results[queue_id] = NOT_QUEUED
        return results

    def _actions(self) -> dict[ControlCommand, Callable[[str], Awaitable[str]]]:
        return {
            ControlCommand.FLUSH: self.flush,
            ControlCommand.HOLD: self.hold,
            ControlCommand.RELEASE: self.release,
            ControlCommand.DELETE: self.delete,
            ControlCommand.BOUNCE: self.bounce,
        }

    async def flush(self, queue_id: str) -> str:
        entry = await self.queue.reschedule(queue_id)
        if entry.envelope.held:
            return "held (release it first)"
        return "to be tried now"

    async def hold(self, queue_id: str) -> str:
        await self.queue.set_held(queue_id, True)
        log.info("%s: placed on hold", queue_id)
        return "held"

    async def release(self, queue_id: str) -> str:
        entry = await self.queue.get(queue_id)
        if entry is not None and not entry.envelope.held:
            return "was not held"
        await self.queue.set_held(queue_id, False)
        log.info("%s: released from hold", queue_id)
        return "released"

    async def delete(self, queue_id: str) -> str:
        await self.queue.claim(queue_id)
        await self.queue.remove(queue_id)
        log.info("%s: deleted by the mail administrator", queue_id)
        return "deleted"

    async def bounce(self, queue_id: str) -> str:
        entry = await self.queue.claim(queue_id)
        failures = {index: RecipientResult.failed(BOUNCE_REPLY) for index, _ in entry.unfinished()}
        reports: list[str | None] = []

        async def report(after: QueueEntry) -> None:
            reports.append(await self.bouncer.report_failures(entry, after))

        try:
            await self.queue.finish(queue_id, failures, before_removal=report)
        except BaseException:
            self.queue.release(queue_id)
            raise
        log.info("%s: returned to the sender by the mail administrator", queue_id)
        report_id = next((r for r in reports if r), None)
        return f"bounced (report {report_id})" if report_id else "removed (nobody to report to)"
