"""Receiving one message into the queue: streamed to `incoming/`, made durable by commit.

The message is written to `incoming/ID.msg` as it arrives, in chunks handed
to a thread once `FLUSH_AT` bytes have gathered, so neither memory nor the
event loop carries a whole message. The file is made by that first write (or
by `flush()`): a message smaller than `FLUSH_AT` that is delivered at once
(`in_memory()`, SMTP's LMTP-like path) never touches the queue's disk at all,
which saved three thread hops and a create, write and unlink per message.
`commit()` then, in a worker thread, makes the file if it is not made yet,
writes the last bytes and fsyncs the file, writes `incoming/ID.env` and
fsyncs it, renames `ID.msg` into `active/` and then `ID.env` (so that an
envelope in `active/` always has its whole message beside it), and waits
for an fsync of `active/` shared with the messages committed at the same
time (group_commit.py). Only then does `commit()` return, and only then may
the client hear 250.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mailroom.durable import write_all, write_synced
from mailroom.queue.entry import QueueEntry
from mailroom.queue.envelope import Envelope
from mailroom.queue.errors import CommitFailed, QueueError
from mailroom.queue.group_commit import DurableRename, GroupCommitter
from mailroom.queue.ids import new_queue_id
from mailroom.queue.layout import QueueLayout

log = logging.getLogger("mailroom.queue")

FLUSH_AT = 256 * 1024
"""Bytes a writer buffers before handing them to a thread to write."""


def fresh_queue_id(taken: Callable[[str], bool]) -> str:
    """A queue id no message of this queue has (in memory: no disk access)."""
    for _ in range(100):
        queue_id = new_queue_id()
        if not taken(queue_id):
            return queue_id
    raise QueueError("no free queue id after 100 tries; is the clock stuck?")


def create_incoming(layout: QueueLayout, queue_id: str) -> int:
    """The open descriptor of a new `incoming/ID.msg` (blocking). The id is already in
    the message's Received: header, so a collision is not retried under another id:
    it is refused (QueueError, a temporary failure), as ids from this process never
    repeat and the queue's lock keeps other processes out (ids.py)."""
    if layout.envelope(queue_id).exists():
        raise QueueError(f"{queue_id}: queue id already in use")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return os.open(layout.message(queue_id, layout.incoming), flags, 0o600)
    except FileExistsError:
        raise QueueError(f"{queue_id}: queue id already in use") from None


class MessageWriter:
    """Streams one message into the queue; `commit()` makes it durable.

    Made by `MailQueue.receive()`. Use it as `async with await
    queue.receive(envelope) as writer:` so that a session that fails half-way
    leaves no open file behind. Not for use by two tasks at once.
    """

    def __init__(
        self,
        layout: QueueLayout,
        committer: GroupCommitter,
        on_committed: Callable[[QueueEntry], None],
        queue_id: str,
        envelope: Envelope,
    ) -> None:
        self._layout = layout
        self._committer = committer
        self._on_committed = on_committed
        self._queue_id = queue_id
        self._fd: int | None = None
        """The open `incoming/ID.msg`, once made (the first flush or the commit)."""
        self._envelope = envelope
        self._buffer = bytearray()
        self._size = 0
        self._state = "open"

    @property
    def queue_id(self) -> str:
        return self._queue_id

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    @property
    def path(self) -> Path:
        """The file being written: readable (after `flush()`) until commit or abort."""
        return self._layout.message(self._queue_id, self._layout.incoming)

    def in_memory(self) -> bytes | None:
        """The whole message so far, when none of it has gone to the file yet (it was
        never flushed); None otherwise. For delivering a small message straight from
        memory, without writing and reading back a queue file."""
        if self._fd is not None or self._state != "open":
            return None
        return bytes(self._buffer)

    async def write(self, chunk: bytes) -> None:
        self._require_open()
        self._buffer += chunk
        self._size += len(chunk)
        if len(self._buffer) >= FLUSH_AT:
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered to the file (no fsync): for reading `path` before commit."""
        self._require_open()
        if self._fd is None:
            data, self._buffer = bytes(self._buffer), bytearray()
            self._fd = await asyncio.to_thread(
                _create_and_write, self._layout, self._queue_id, data
            )
        elif self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(write_all, self._fd, data)

    async def replace_head(self, length: int, head: bytes) -> None:
        """Replace the first `length` bytes written with `head`, before commit: the
        inbound check's Authentication-Results field prepended (forged ones dropped).
        A message still in the buffer is changed there; otherwise the file is rewritten
        beside itself (`ID.head` in incoming/, removed by recovery after a crash)."""
        self._require_open()
        if length < 0 or length > self._size:
            raise QueueError(f"{self._queue_id}: cannot replace {length} of {self._size} bytes")
        if not head and not length:
            return
        written = self._size - len(self._buffer)
        if written == 0 or self._fd is None:
            self._buffer[:length] = head
        else:
            await self.flush()
            assert self._fd is not None
            self._fd = await asyncio.to_thread(_rewrite_head, self._fd, self.path, length, head)
        self._size += len(head) - length

    async def commit(self, envelope: Envelope | None = None) -> str:
        """Make the message durable and queue it; return its queue id.

        `envelope` replaces the one given to `receive()`, e.g. with only the
        recipients that could not be delivered at once. Raises CommitFailed
        if the disk refused; the message is then gone and the client must be
        told to try again later.
        """
        self._require_open()
        if envelope is not None:
            self._envelope = envelope
        self._state = "committing"
        fd, self._fd = self._fd, None
        data, self._buffer = bytes(self._buffer), bytearray()
        # Shielded: once the files are handed over, a cancelled session must not keep a
        # durable message out of the queue's index (it would wait for a restart).
        commit = asyncio.ensure_future(self._commit(fd, data))
        commit.add_done_callback(_retrieve_exception)
        return await asyncio.shield(commit)

    async def _commit(self, fd: int | None, data: bytes) -> str:
        names = _CommitNames(self._layout, self._queue_id)
        change = DurableRename(
            syncs=[
                functools.partial(_finish_message, fd, self._layout, self._queue_id, data),
                functools.partial(write_synced, names.incoming_envelope, self._envelope.to_json()),
            ],
            rename=names.rename_into_active,
            directory=self._layout.active,
        )
        try:
            await self._committer.run(change)
        except OSError as error:
            self._state = "failed"
            await asyncio.to_thread(names.remove_all)
            raise CommitFailed(f"{self._queue_id}: could not store the message: {error}") from error
        self._state = "committed"
        self._on_committed(QueueEntry(self._queue_id, self._envelope, self._size))
        log.info(
            "%s: from=<%s>, size=%d, nrcpt=%d",
            self._queue_id,
            self._envelope.sender,
            self._size,
            len(self._envelope.recipients),
        )
        return self._queue_id

    async def abort(self) -> None:
        """Throw the message away (the client gave up, or it was refused)."""
        if self._state != "open":
            return
        self._state = "aborted"
        fd, self._fd = self._fd, None
        self._buffer = bytearray()
        if fd is not None:  # else nothing of it was written
            await asyncio.to_thread(_close_and_unlink, fd, self.path)

    async def __aenter__(self) -> MessageWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.abort()

    def _require_open(self) -> None:
        if self._state != "open":
            raise QueueError(f"{self._queue_id}: the message is already {self._state}")


@dataclass(frozen=True)
class _CommitNames:
    layout: QueueLayout
    queue_id: str

    @property
    def incoming_envelope(self) -> Path:
        return self.layout.envelope(self.queue_id, self.layout.incoming)

    def rename_into_active(self) -> None:
        # The message before its envelope: an envelope in active/ means a complete message.
        layout, queue_id = self.layout, self.queue_id
        os.rename(layout.message(queue_id, layout.incoming), layout.message(queue_id))
        os.rename(layout.envelope(queue_id, layout.incoming), layout.envelope(queue_id))

    def remove_all(self) -> None:
        """Undo a failed commit, as far as the disk lets us; the envelope goes first.

        Whatever stays behind is in incoming/, or is a message without its
        envelope in active/: the next open() removes both.
        """
        layout, queue_id = self.layout, self.queue_id
        for path in (
            layout.envelope(queue_id),
            layout.message(queue_id),
            layout.envelope(queue_id, layout.incoming),
            layout.message(queue_id, layout.incoming),
        ):
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                log.warning("%s: could not remove %s: %s", queue_id, path, error)


def _retrieve_exception(future: asyncio.Future[str]) -> None:
    """Mark a shielded commit's failure as seen when its caller was cancelled."""
    if not future.cancelled():
        future.exception()


def _create_and_write(layout: QueueLayout, queue_id: str, data: bytes) -> int:
    """Make `incoming/ID.msg` with `data` in it; its descriptor, at the end."""
    fd = create_incoming(layout, queue_id)
    try:
        write_all(fd, data)
    except BaseException:
        _close_and_unlink(fd, layout.message(queue_id, layout.incoming))
        raise
    return fd


def _finish_message(fd: int | None, layout: QueueLayout, queue_id: str, data: bytes) -> None:
    """Write the writer's last buffered bytes (into a new file if none was made yet)
    and make the message durable."""
    if fd is None:
        fd = create_incoming(layout, queue_id)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _close_and_unlink(fd: int, path: Path) -> None:
    os.close(fd)
    path.unlink(missing_ok=True)


def _rewrite_head(fd: int, path: Path, length: int, head: bytes) -> int:
    """`head` and the file from `length` on, as a new file renamed over `path`; the
    new file's descriptor, positioned at its end (the old one is closed)."""
    new_path = path.with_suffix(".head")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    new_fd = os.open(new_path, flags, 0o600)
    try:
        write_all(new_fd, head)
        with path.open("rb") as old:
            old.seek(length)
            while chunk := old.read(FLUSH_AT):
                write_all(new_fd, chunk)
        os.replace(new_path, path)
    except BaseException:
        os.close(new_fd)
        new_path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return new_fd
