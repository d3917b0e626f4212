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

IMAP NOTIFY (RFC 5465) wants more than one folder: an `AccountListener` (`listen`)
hears of every folder of one account whose messages may have changed, and of the
changes to its list of folders and subscriptions (`announce`: created, deleted,
renamed, subscribed, unsubscribed), in order and bounded. A change announced from
the task of the session that listens is not told to it (`EVENT_ORIGIN`): RFC 5465
§5 asks that a client not be notified of what it did itself. With worker processes,
`forward_list_to` hands each announced change to the event hub too, which tells the
listeners of the host's other processes through `announce_here`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

POLL_INTERVAL = 5.0
"""Seconds between checks for changes made by other processes, while someone waits."""

DiskStamp = tuple[tuple[int, int, int], ...]
EVENT_ORIGIN: ContextVar[object | None] = ContextVar("mailroom_event_origin", default=None)
"""Who causes the changes announced from this task (an IMAP session sets itself)."""


_STAMPED = ("/new", "/cur", "/dovecot-uidlist", "/dovecot-keywords")


def disk_stamp(path: Path | str) -> DiskStamp:
    """(mtime_ns, inode, size) of new/, cur/ and dovecot-uidlist: changes when messages do.

    Asked before most IMAP commands, so the names are joined as strings: four pathlib
    joins cost more than the four stat() calls."""
    base = os.fspath(path)
    stamp = []
    for name in _STAMPED:
        try:
            info = os.stat(base + name)
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


class ListChangeKind(enum.Enum):
    CREATED = "created"
    DELETED = "deleted"
    RENAMED = "renamed"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class ListChange:
    """A change to an account's folders or subscriptions (not to messages); `name` is
    the folder's name after it (normalized, as the store names it)."""

    kind: ListChangeKind
    name: str
    old_name: str | None = None
    """RENAMED: the name before."""


class AccountListener:
    """Everything that happens to one account's folders while it listens: the folders
    whose messages may have changed (`folders`, their keys, each once) and the list
    changes in order. Past `limit` pending items it keeps nothing more and says
    `overflowed` instead. `take()` empties it; `wait()` returns once it is not empty."""

    def __init__(
        self, events: MailboxEvents, root: str, loop: asyncio.AbstractEventLoop, limit: int
    ) -> None:
        self._events = events
        self.root = root
        self.limit = limit
        self.owner = EVENT_ORIGIN.get()
        self.folders: set[str] = set()
        self.changes: list[ListChange] = []
        self.overflowed = False
        self._loop = loop
        self._event = asyncio.Event()

    def _on_loop(self, function: Callable[..., object], *args: object) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            function(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                self._loop.call_soon_threadsafe(function, *args)

    def _add(self, folder: str | None, change: ListChange | None) -> None:
        if self.overflowed or (folder is not None and folder in self.folders):
            return
        if len(self.folders) + len(self.changes) >= self.limit:
            self.overflowed = True
            self.folders.clear()
            self.changes.clear()
        elif folder is not None:
            self.folders.add(folder)
        elif change is not None:
            self.changes.append(change)
        self._event.set()

    @property
    def pending(self) -> bool:
        return bool(self.folders or self.changes or self.overflowed)

    def take(self) -> tuple[set[str], list[ListChange], bool]:
        """What came since the last take: folder keys, list changes, and overflow."""
        taken = (self.folders, self.changes, self.overflowed)
        self.folders, self.changes, self.overflowed = set(), [], False
        self._event.clear()
        return taken

    async def wait(self) -> None:
        await self._event.wait()

    def close(self) -> None:
        self._events._stop_listening(self)


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
        self._listeners: dict[str, set[AccountListener]] = {}
        self._forward: Callable[[str], None] | None = None
        self._forward_list: Callable[[str, ListChange], None] | None = None

    def forward_to(self, forward: Callable[[str], None] | None) -> None:
        """Also hand the key of every notified folder to `forward` (called in the
        notifying thread; must not block): how other processes hear of our changes."""
        self._forward = forward

    def forward_list_to(self, forward: Callable[[str, ListChange], None] | None) -> None:
        """Also hand every announced list change, with its account's `folder_key`, to
        `forward` (called in the announcing thread; must not block)."""
        self._forward_list = forward

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
            # INBOX is the account's root, the other folders are right below it.
            listeners = [
                *self._listeners.get(key, ()),
                *self._listeners.get(os.path.dirname(key), ()),
            ]
        for waiter in waiters:
            waiter._wake()
        for listener in listeners:
            listener._on_loop(listener._add, key, None)

    def announce(self, root: Path, change: ListChange) -> None:
        """Tell the listeners of the account at `root` of a change to its folder list,
        here and, if forwarding, in the host's other processes (safe from any thread)."""
        key = folder_key(root)
        self._tell(key, change, EVENT_ORIGIN.get())
        forward = self._forward_list
        if forward is not None:
            forward(key, change)

    def announce_here(self, key: str, change: ListChange) -> None:
        """Tell this process's listeners of the account whose `folder_key` is `key` of a
        change made in another process (so made by none of them)."""
        self._tell(key, change, None)

    def _tell(self, key: str, change: ListChange, origin: object | None) -> None:
        with self._guard:
            listeners = list(self._listeners.get(key, ()))
        for listener in listeners:
            if origin is None or listener.owner is not origin:
                listener._on_loop(listener._add, None, change)

    def listen(self, root: Path, *, limit: int) -> AccountListener:
        """Listen to the account at `root` until the listener's `close()`."""
        listener = AccountListener(self, folder_key(root), asyncio.get_running_loop(), limit)
        with self._guard:
            self._listeners.setdefault(listener.root, set()).add(listener)
        return listener

    def _stop_listening(self, listener: AccountListener) -> None:
        with self._guard:
            listeners = self._listeners.get(listener.root)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[listener.root]

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
