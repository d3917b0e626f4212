"""The queue's delivery side: what is queued, what is due, and what became of it.

`MailQueue` keeps every committed message's envelope in memory (they are
small) and its files on disk as layout.py describes. Receiving is
writer.py's job, cleaning up after a crash recovery.py's.

State changes rewrite the envelope: `incoming/ID.update` is written and
fsynced, renamed over `active/ID.env`, and `active/` is fsynced (shared with
whatever else is being committed: group_commit.py). A crash leaves either
the old envelope or the new one, so at worst a delivery is repeated, never
lost. Removal unlinks `ID.env` first, then `ID.msg`, and fsyncs `active/`
the same way, so a removed message does not come back after a power cut.

The dispatcher's loop:

    while True:
        await queue.wait_for_work()
        for entry in await queue.due():       # claimed: not handed out again
            start(deliver(entry))             # which ends with queue.finish(...)

`due()` claims the messages it returns, so they are not handed out again
while being delivered; `update()` records recipients' results (by index, see
`QueueEntry.unfinished()`); `finish()` updates and then removes the message
if every recipient is done, or releases the claim otherwise.
`wait_for_work()` returns when something unclaimed is due: at once, on the
next commit or release, or when the earliest deferred message comes due.

For administrators (`mailroom queue`, through `control.administration`): a held
message (`set_held`) is never due; `reschedule` makes deferred recipients due now;
`claim` waits until no delivery attempt holds a message, so that removing it never
races an attempt. Each is a durable envelope rewrite like `update`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from mailroom.durable import make_directory, unlink_all, write_synced
from mailroom.metrics import (
    DELIVERY_LATENCY,
    MESSAGES_BOUNCED,
    MESSAGES_DEFERRED,
    MESSAGES_DELIVERED,
)
from mailroom.queue.entry import QueueEntry, RecipientResult
from mailroom.queue.envelope import Envelope, EnvelopeRecipient, RecipientState
from mailroom.queue.errors import QueueError, UnknownMessage
from mailroom.queue.group_commit import DEFAULT_THREADS, DurableRename, GroupCommitter
from mailroom.queue.layout import QueueLayout
from mailroom.queue.recovery import lock_queue, read_committed, recover
from mailroom.queue.retry import RetrySchedule
from mailroom.queue.writer import MessageWriter, fresh_queue_id

log = logging.getLogger("mailroom.queue")


class MailQueue:
    """The queue under one directory. `await open()` before use, `await close()` after."""

    def __init__(
        self,
        directory: Path,
        *,
        schedule: RetrySchedule | None = None,
        group_commit: bool = True,
        commit_threads: int = DEFAULT_THREADS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.layout = QueueLayout(directory)
        self.directory = directory
        self.incoming = self.layout.incoming
        self.active = self.layout.active
        self.corrupt = self.layout.corrupt
        self.schedule = schedule or RetrySchedule()
        self.committer = GroupCommitter(threads=commit_threads, batching=group_commit)
        self._clock = clock
        self._entries: dict[str, QueueEntry] = {}
        self._claimed: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._changed = asyncio.Event()
        self._opened = False
        self._lock_file: BinaryIO | None = None
        self._hand_over: Callable[[str], None] | None = None

    async def open(self) -> None:
        """Create the directories, clean up after a crash, and load the queued messages.
        Raises QueueInUse if another process has this queue open: its messages in
        progress would look like a crash's leftovers."""
        self._lock_file = await asyncio.to_thread(lock_queue, self.layout)
        entries = await asyncio.to_thread(recover, self.layout)
        self._entries = {entry.queue_id: entry for entry in entries}
        self._opened = True
        for entry in entries:
            if entry.is_done:
                log.info("%s: all recipients done before a restart", entry.queue_id)
                await self.remove(entry.queue_id)
        log.info("queue %s opened: %d messages", self.directory, len(self._entries))

    async def open_for_writing(self, hand_over: Callable[[str], None]) -> None:
        """Open the queue of this host's owner (its main process) in a worker process:
        no lock and no recovery (the owner holds the one and did the other); messages
        are committed here exactly as the owner commits them (writer.py: incoming/,
        fsyncs, active/ and its fsync before `commit()` returns) and then handed over
        by id (`hand_over`, which tells the owner: `adopt`). This queue keeps none of
        them and delivers nothing. Ids are this process's own (`ids.use_process_slot`)."""
        await asyncio.to_thread(_make_directories, self.layout)
        self._hand_over = hand_over
        self._opened = True

    async def adopt(self, queue_id: str) -> QueueEntry | None:
        """Take on a message a worker process committed (its envelope and message in
        active/, read as recovery reads them) and schedule it; None if it is not
        there. A message already known is left as it is."""
        self._require_open()
        known = self._entries.get(queue_id)
        if known is not None:
            return known
        entry = await asyncio.to_thread(read_committed, self.layout, queue_id)
        if entry is None:
            log.warning("%s: handed over by a worker, but not in the queue", queue_id)
            return None
        if queue_id in self._entries:  # adopted meanwhile
            return self._entries[queue_id]
        self._add_committed(entry)
        return entry

    async def close(self) -> None:
        """Wait for commits under way, then stop."""
        self._opened = False
        await self.committer.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    async def __aenter__(self) -> MailQueue:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # Receiving

    async def receive(self, envelope: Envelope) -> MessageWriter:
        """Start a message: write it with the writer, then commit (or abort) it."""
        self._require_open()
        queue_id = fresh_queue_id(self._taken)
        return MessageWriter(self.layout, self.committer, self._add_committed, queue_id, envelope)

    def _taken(self, queue_id: str) -> bool:
        return queue_id in self._entries

    def _add_committed(self, entry: QueueEntry) -> None:
        """Called by a writer once its message is durable."""
        if self._hand_over is not None:  # a worker's: the owner delivers it
            self._hand_over(entry.queue_id)
            return
        self._entries[entry.queue_id] = entry
        self._signal()

    # Looking

    async def entries(self) -> list[QueueEntry]:
        """Every queued message, oldest id first."""
        return [self._entries[queue_id] for queue_id in sorted(self._entries)]

    async def get(self, queue_id: str) -> QueueEntry | None:
        return self._entries.get(queue_id)

    def message_path(self, queue_id: str) -> Path:
        """The stored message's file (valid until the message is removed)."""
        self._require(queue_id)
        return self.layout.message(queue_id)

    # Delivering

    def next_due(self) -> float | None:
        """When the earliest unclaimed message is due; None if none is waiting."""
        times = [
            due
            for queue_id, entry in self._entries.items()
            if queue_id not in self._claimed and (due := entry.due_at) is not None
        ]
        return min(times) if times else None

    async def due(self, now: float | None = None) -> list[QueueEntry]:
        """Claim and return the messages due at `now`: they are not handed out again
        until `release()` or `finish()`."""
        now = self._clock() if now is None else now
        ready = [
            entry
            for queue_id, entry in self._entries.items()
            if queue_id not in self._claimed and (due := entry.due_at) is not None and due <= now
        ]
        ready.sort(key=lambda entry: (entry.due_at or 0.0, entry.queue_id))
        self._claimed.update(entry.queue_id for entry in ready)
        return ready

    def release(self, queue_id: str) -> None:
        """End the claim `due()` took: the message may be handed out again when due."""
        self._claimed.discard(queue_id)
        self._signal()

    async def wait_for_work(self) -> None:
        """Return when some unclaimed message is due (at once if one is)."""
        while True:
            changed = self._changed
            next_due = self.next_due()
            now = self._clock()
            if next_due is not None and next_due <= now:
                return
            try:
                async with asyncio.timeout(None if next_due is None else next_due - now):
                    await changed.wait()
            except TimeoutError:
                pass

    async def update(
        self,
        queue_id: str,
        results: Mapping[int, RecipientResult],
        *,
        now: float | None = None,
    ) -> QueueEntry:
        """Record delivery results by recipient index (see `QueueEntry.unfinished`).

        The new envelope is durable when this returns. A deferral past the
        queue lifetime becomes a failure. The claim, if any, is kept.
        """
        async with self._lock(queue_id):
            entry = self._require(queue_id)
            if not results:
                return entry
            now = self._clock() if now is None else now
            recipients = list(entry.envelope.recipients)
            for index, result in results.items():
                if not 0 <= index < len(recipients):
                    raise IndexError(f"{queue_id}: no recipient number {index}")
                recipients[index] = self._apply(entry, recipients[index], result, now)
            envelope = replace(entry.envelope, recipients=tuple(recipients))
            stored = await self._store(entry, envelope, "record delivery results")
        count_results([recipients[index] for index in results], envelope.received_at, now)
        return stored

    async def _store(self, entry: QueueEntry, envelope: Envelope, doing: str) -> QueueEntry:
        """Replace `entry`'s envelope on disk (durably) and in memory; hold its lock."""
        queue_id = entry.queue_id
        temporary = self.layout.envelope_update(queue_id)
        change = DurableRename(
            syncs=[functools.partial(write_synced, temporary, envelope.to_json())],
            rename=functools.partial(os.rename, temporary, self.layout.envelope(queue_id)),
            directory=self.active,
        )
        try:
            await self.committer.run(change)
        except OSError as error:
            raise QueueError(f"{queue_id}: could not {doing}: {error}") from error
        updated = replace(entry, envelope=envelope)
        self._entries[queue_id] = updated
        self._signal()
        return updated

    def _apply(
        self, entry: QueueEntry, recipient: EnvelopeRecipient, result: RecipientResult, now: float
    ) -> EnvelopeRecipient:
        attempts = recipient.attempts + 1
        if result.state is RecipientState.DEFERRED:
            received_at = entry.envelope.received_at
            if self.schedule.is_expired(received_at, now):
                days = self.schedule.max_lifetime / 86400
                log.warning(
                    "%s: to=<%s>, status=expired (undeliverable for %.3g days; last error: %s)",
                    entry.queue_id,
                    recipient.address,
                    days,
                    result.reply,
                )
                return replace(
                    recipient,
                    state=RecipientState.FAILED,
                    last_reply=f"4.4.7 Delivery time expired after {days:.3g} days; "
                    f"last error: {result.reply}",
                    attempts=attempts,
                    next_attempt=None,
                )
            next_attempt = self.schedule.next_attempt(attempts, received_at, now)
            if result.next_attempt is not None:
                next_attempt = min(result.next_attempt, self.schedule.expires_at(received_at))
            return replace(
                recipient,
                state=RecipientState.DEFERRED,
                last_reply=result.reply,
                attempts=attempts,
                next_attempt=next_attempt,
            )
        if result.state is RecipientState.PENDING:
            raise ValueError("a result is delivered, deferred or failed, not pending")
        return replace(
            recipient,
            state=result.state,
            last_reply=result.reply,
            attempts=attempts,
            next_attempt=None,
        )

    async def finish(
        self,
        queue_id: str,
        results: Mapping[int, RecipientResult],
        *,
        now: float | None = None,
        before_removal: Callable[[QueueEntry], Awaitable[object]] | None = None,
    ) -> QueueEntry:
        """`update()`, then remove the message if every recipient is done, else release it.
        `before_removal` sees the updated entry while its message is still stored (the
        bounce of a failed recipient returns the message)."""
        entry = await self.update(queue_id, results, now=now)
        if before_removal is not None:
            await before_removal(entry)
        if entry.is_done:
            await self.remove(queue_id)
        else:
            self.release(queue_id)
        return entry

    async def remove(self, queue_id: str) -> None:
        """Delete a message (when every recipient is done, or by an administrator)."""
        async with self._lock(queue_id):
            self._require(queue_id)
            unlink = functools.partial(
                unlink_all, self.layout.envelope(queue_id), self.layout.message(queue_id)
            )
            await self.committer.run(DurableRename(syncs=[], rename=unlink, directory=self.active))
            del self._entries[queue_id]
            self._claimed.discard(queue_id)
            self._locks.pop(queue_id, None)
        log.info("%s: removed", queue_id)

    # Administration (`mailroom queue hold|release|flush|delete`; bounces are delivery's)

    async def claim(self, queue_id: str) -> QueueEntry:
        """Claim a message as `due()` does, waiting while a delivery attempt holds it, so
        that an administrator's removal never races an attempt. End it with `finish()`,
        `remove()` or `release()`."""
        while True:
            changed = self._changed
            entry = self._require(queue_id)
            if queue_id not in self._claimed:
                self._claimed.add(queue_id)
                return entry
            await changed.wait()

    async def set_held(self, queue_id: str, held: bool) -> QueueEntry:
        """Put a message on hold (never due until released) or release it. A delivery
        attempt under way finishes; its results keep the hold."""
        return await self._change_envelope(
            queue_id, lambda envelope: replace(envelope, held=held), "change the hold"
        )

    async def mark_delay_warned(self, queue_id: str) -> QueueEntry:
        """Remember that the sender was warned of the delay (only one warning per message)."""
        return await self._change_envelope(
            queue_id, lambda envelope: replace(envelope, delay_warned=True), "mark the warning"
        )

    async def reschedule(self, queue_id: str, when: float | None = None) -> QueueEntry:
        """Make every deferred recipient due at `when` (default now): `postqueue -f`.
        Durable, so a flush before a restart still holds after it."""
        when = self._clock() if when is None else when

        def due_now(envelope: Envelope) -> Envelope:
            recipients = tuple(
                replace(r, next_attempt=min(when, r.next_attempt))
                if r.state is RecipientState.DEFERRED and r.next_attempt is not None
                else r
                for r in envelope.recipients
            )
            return replace(envelope, recipients=recipients)

        return await self._change_envelope(queue_id, due_now, "reschedule")

    async def _change_envelope(
        self, queue_id: str, change: Callable[[Envelope], Envelope], doing: str
    ) -> QueueEntry:
        async with self._lock(queue_id):
            entry = self._require(queue_id)
            envelope = change(entry.envelope)
            if envelope == entry.envelope:
                return entry
            return await self._store(entry, envelope, doing)

    # Inside

    def _require_open(self) -> None:
        if not self._opened:
            raise QueueError(f"the queue {self.directory} is not open (call open() first)")

    def _require(self, queue_id: str) -> QueueEntry:
        self._require_open()
        entry = self._entries.get(queue_id)
        if entry is None:
            raise UnknownMessage(queue_id)
        return entry

    def _lock(self, queue_id: str) -> asyncio.Lock:
        return self._locks.setdefault(queue_id, asyncio.Lock())

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def count_results(recipients: list[EnvelopeRecipient], received_at: float, now: float) -> None:
    """The metrics of recorded results (durable now): delivered (and how long it took
    since reception), deferred, or bounced (failed for good, expired included)."""
    for recipient in recipients:
        if recipient.state is RecipientState.DELIVERED:
            MESSAGES_DELIVERED.inc()
            DELIVERY_LATENCY.observe(max(0.0, now - received_at))
        elif recipient.state is RecipientState.DEFERRED:
            MESSAGES_DEFERRED.inc()
        elif recipient.state is RecipientState.FAILED:
            MESSAGES_BOUNCED.inc()


def _make_directories(layout: QueueLayout) -> None:
    for directory in layout.directories():
        make_directory(directory)
