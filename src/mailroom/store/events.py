"""Change events for mailbox folders: who must look again, and when.

An IMAP session in IDLE (RFC 2177), or one about to answer NOOP, needs to
know that its folder changed. Changes made in this process (local delivery,
another session's STORE/EXPUNGE/APPEND) call `MailboxEvents.notify(path)`,
and every waiter on that folder wakes at once: no polling for our own
changes. Changes made by other processes (a Dovecot still running on the
same Maildir, a CLI tool, a hand-copied file) are found by one cheap timer
per watched folder, shared by all its waiters and running only while
someone waits: a few `stat()` calls of new/, cur/ and `dovecot-uidlist`
every `poll_interval` seconds, in a thread.

The events say only "look again"; what changed is for the waiter to find
out (`Mailbox.sync()`). With IMAP worker processes, `forward_to` hands each
notified folder key to the event hub (event_hub.py), which wakes the waiters of
the host's other processes through `wake`. Folder paths are compared after making them
absolute and normal (no symlinks are followed: that would mean disk access
on the event loop), so delivery and sessions must derive a Maildir's path
the same way, from `locate_mailbox` (paths.py). `notify` may be called from any
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

POLL_INTERVAL = 5.0
"""Seconds between checks for changes made by other processes, while someone waits."""

DiskStamp = tuple[tuple[int, int, int], ...]


def disk_stamp(path: Path) -> DiskStamp:
    """(mtime_ns, inode, size) of new/, cur/ and dovecot-uidlist: changes when messages do."""
    stamp = []
    for name in ("new", "cur", "dovecot-uidlist", "dovecot-keywords"):
        try:
            info = os.stat(path / name)
        except (FileNotFoundError, NotADirectoryError):
            stamp.append((0, 0, 0))
            continue
        stamp.append((info.st_mtime_ns, info.st_ino, info.st_size))
    return tuple(stamp)


def folder_key(path: Path) -> str:
    """The one name under which a folder directory is watched (no disk access)."""
    return os.path.normpath(os.path.abspath(path))


class Waiter:
    """One watcher of one folder. `wait()` returns once something may have changed.

    A notification that arrives while nobody is inside `wait()` is kept, so
    a change between two waits is never missed.
    """

    def __init__(self, key: str, loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self._loop = loop
        self._event = asyncio.Event()

    def _wake(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(self._event.set)

    @property
    def pending(self) -> bool:
        """Whether a notification arrived since the last `wait()` returned."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Wait until something may have changed (use `asyncio.timeout` to bound it)."""
        await self._event.wait()
        self._event.clear()


@dataclass
class _Watched:
    waiters: set[Waiter] = field(default_factory=set)
    poller: asyncio.Task[None] | None = None
    ready: asyncio.Future[None] | None = None


class MailboxEvents:
    """In-process publish/subscribe of "this folder changed", keyed by folder path."""

    def __init__(self, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.poll_interval = poll_interval
        self._watched: dict[str, _Watched] = {}
        self._guard = threading.Lock()  # notify() may come from a delivery thread
        self._forward: Callable[[str], None] | None = None

    def forward_to(self, forward: Callable[[str], None] | None) -> None:
        """Also hand the key of every notified folder to `forward` (called in the
        notifying thread; must not block): how other processes hear of our changes."""
        self._forward = forward

    def notify(self, path: Path) -> None:
        """Wake every waiter of the folder at `path`, here and, if forwarding, in the
        host's other processes (safe from any thread)."""
        key = folder_key(path)
        self.wake(key)
        forward = self._forward
        if forward is not None:
            forward(key)

    def wake(self, key: str) -> None:
        """Wake this process's waiters of the folder whose `folder_key` is `key`."""
        with self._guard:
            watched = self._watched.get(key)
            waiters = [] if watched is None else list(watched.waiters)
        for waiter in waiters:
            waiter._wake()

    def watching(self, path: Path) -> int:
        """How many waiters the folder has (for tests and metrics)."""
        watched = self._watched.get(folder_key(path))
        return 0 if watched is None else len(watched.waiters)

    @contextlib.asynccontextmanager
    async def watch(self, path: Path) -> AsyncIterator[Waiter]:
        """Watch the folder at `path` for as long as the block runs."""
        key = folder_key(path)
        waiter = Waiter(key, asyncio.get_running_loop())
        with self._guard:
            watched = self._watched.setdefault(key, _Watched())
            watched.waiters.add(waiter)
        if watched.poller is None and self.poll_interval > 0:
            watched.ready = asyncio.get_running_loop().create_future()
            watched.poller = asyncio.create_task(self._poll(key, Path(key), watched.ready))
        try:
            if watched.ready is not None:
                # The poller's first look comes before the block: a change inside it is seen.
                await asyncio.shield(watched.ready)
            yield waiter
        finally:
            with self._guard:
                watched.waiters.discard(waiter)
                last = not watched.waiters
                if last:
                    self._watched.pop(key, None)
            if last and watched.poller is not None:
                watched.poller.cancel()

    async def _poll(self, key: str, path: Path, ready: asyncio.Future[None]) -> None:
        """Wake the waiters when another process changed the folder on disk."""
        try:
            try:
                last = await asyncio.to_thread(disk_stamp, path)
            finally:
                if not ready.done():
                    ready.set_result(None)
            while True:
                await asyncio.sleep(self.poll_interval)
                stamp = await asyncio.to_thread(disk_stamp, path)
                if stamp != last:
                    last = stamp
                    # Every process polls for itself: nothing to tell the others.
                    self.wake(key)
        except asyncio.CancelledError:
            raise
        except OSError as error:  # pragma: no cover - a folder that vanished under us
            log.warning("%s: cannot watch for changes: %s", key, error)
