"""An account's folders for IMAP and POP3: list, create, delete, rename, subscribe, quota.

`MailStore` is the process-wide part, built once by the app: it hands out
one shared `Mailbox` per folder directory (counting references, so the
last `close()` releases it), owns the worker threads all disk work runs in,
and knows the hierarchy separator clients see. `MailStore.account(root,
quota_bytes)` is cheap and made per login.

Folder names are checked and mapped to Maildir++ directories by
folder_names.py (nothing can name a path outside the root). INBOX is the
root itself and is special (RFC 9051 §6.3.4-6.3.6): it always exists,
cannot be deleted, and renaming it moves its messages into the new folder
and leaves it empty. Renaming a folder renames its children too.
Subscriptions live in Dovecot's `subscriptions` file (subscriptions.py);
SPECIAL-USE in `mailroom-special-use` and the configured name lists (special_use.py).
Only a new, empty Maildir gets the default folders (default_folders.py).

LIST attributes (RFC 9051 §7.3.1, RFC 5258 LIST-EXTENDED, RFC 6154):
\\HasChildren / \\HasNoChildren on every listed folder; \\Noselect on a
level that only exists as the parent of others (`.A.B` without `.A`);
\\NonExistent for a subscribed name with no folder; \\Subscribed; and the
folder's special use.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mailroom.store.default_folders import create_default_folders
from mailroom.store.errors import FolderError, FolderExists, FolderNotFound, SpecialUseError
from mailroom.store.events import ListChange, ListChangeKind, MailboxEvents, folder_key
from mailroom.store.filename import unique_name
from mailroom.store.folder_list import (
    FolderInfo,
    FolderLists,
    folder_directories,
    is_folder,
    list_folders,
    subscribed_names,
)
from mailroom.store.folder_names import FolderNames
from mailroom.store.folder_view import FolderStatus
from mailroom.store.mailbox import Mailbox
from mailroom.store.maildir import INBOX, FolderNameError, Maildir
from mailroom.store.quota import Quota, current_usage, record_delivery, scan_usage
from mailroom.store.special_use import (
    DEFAULT_NAMES,
    SUPPORTED,
    NameLists,
    change_special_use,
    read_special_use,
)
from mailroom.store.subscriptions import Levels, change_subscriptions
from mailroom.store.threads import StoreThreads
from mailroom.store.uidlist import LOCK_WAIT_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")

WORKERS = 8
"""Threads for the store's disk work, shared by every mailbox of the process."""
LINGER_SECONDS = 60.0
"""A mailbox nobody has open stays loaded this long (its index open, its state in memory)."""


class MailStore:
    """Every account's mailboxes in this process."""

    def __init__(
        self,
        *,
        events: MailboxEvents,
        search_text: Callable[[bytes], tuple[str, str]],
        hierarchy_separator: str = ".",
        special_use: NameLists = DEFAULT_NAMES,
        hostname: str | None = None,
        workers: int = WORKERS,
        lock_wait: float = LOCK_WAIT_SECONDS,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.events = events
        self.search_text = search_text
        self.names = FolderNames(hierarchy_separator)
        self.special_use = special_use
        """Attribute → folder names that have it (config's `[mailbox.special_use]`)."""
        self.hostname = hostname or socket.gethostname()
        self.lock_wait = lock_wait
        self.linger = linger
        self._lingering: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._threads = StoreThreads(workers)
        self._open: dict[str, Mailbox] = {}
        self.folder_lists = FolderLists()
        self._ready: dict[str, asyncio.Future[None]] = {}

    @property
    def separator(self) -> str:
        return self.names.separator

    def account(self, root: Path, quota_bytes: int | None) -> Account:
        """The account whose Maildir is `root` (cheap: nothing is read here)."""
        return Account(self, root, quota_bytes)

    def opened(self, path: Path) -> Mailbox | None:
        """The open Mailbox of this folder directory, if some session has it open."""
        return self._open.get(folder_key(path))

    async def open_mailbox(self, path: Path, quota: Quota | None) -> Mailbox:
        """The shared Mailbox of the folder at `path`; `close()` it when done."""
        key = folder_key(path)
        mailbox = self._open.get(key)
        if mailbox is None:
            mailbox = Mailbox(
                path,
                events=self.events,
                threads=self._threads,
                search_text=self.search_text,
                hostname=self.hostname,
                quota=quota,
                lock_wait=self.lock_wait,
            )
            mailbox._release = self._release
            self._open[key] = mailbox
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._ready[key] = ready
            mailbox._references = 1
            try:
                await mailbox.open()
            except BaseException as error:
                del self._open[key]
                ready.set_exception(error)
                ready.exception()  # retrieved: waiters re-raise it
                raise
            finally:
                self._ready.pop(key, None)
            ready.set_result(None)
            return mailbox
        mailbox._references += 1
        lingering = self._lingering.pop(key, None)
        if lingering is not None:
            lingering.cancel()
        pending = self._ready.get(key)
        if pending is not None:
            try:
                await asyncio.shield(pending)
            except BaseException:
                mailbox._references -= 1
                raise
        if quota is not None:
            mailbox.quota = quota
        return mailbox

    async def _release(self, mailbox: Mailbox) -> None:
        if mailbox._references <= 0:
            return  # closed twice
        mailbox._references -= 1
        if mailbox._references > 0:
            return
        key = folder_key(mailbox.path)
        if self._open.get(key) is not mailbox:
            await mailbox._close()  # deleted or renamed meanwhile: nobody gets it again
            return
        if self.linger <= 0:
            del self._open[key]
            await mailbox._close()
            return
        # Kept open a little: STATUS polls and a client's next SELECT cost a few stat() calls.
        loop = asyncio.get_running_loop()
        self._lingering[key] = loop.call_later(self.linger, self._expire, key, mailbox)

    def _expire(self, key: str, mailbox: Mailbox) -> None:
        self._lingering.pop(key, None)
        if mailbox._references == 0 and self._open.get(key) is mailbox:
            del self._open[key]
            task = asyncio.get_running_loop().create_task(mailbox._close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _forget(self, path: Path) -> None:
        """A folder went away (DELETE, RENAME): its open Mailbox must not be handed out again."""
        key = folder_key(path)
        mailbox = self._open.pop(key, None)
        if mailbox is not None:
            mailbox.deleted = True
            lingering = self._lingering.pop(key, None)
            if lingering is not None:
                lingering.cancel()
                task = asyncio.get_running_loop().create_task(mailbox._close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self.events.notify(path)

    async def close(self) -> None:
        """Close idle mailboxes and stop the worker threads (at shutdown, after the sessions)."""
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()
        idle = [m for m in self._open.values() if m._references == 0]
        for mailbox in idle:
            del self._open[folder_key(mailbox.path)]
            await mailbox._close()
        if self._closing:
            await asyncio.gather(*self._closing)
        await asyncio.to_thread(self._threads.shutdown)


class Account:
    """One member's Maildir, as their sessions see it."""

    def __init__(self, store: MailStore, root: Path, quota_bytes: int | None) -> None:
        self.store = store
        self.root = root
        self.quota_bytes = quota_bytes
        self.names = store.names

    def __repr__(self) -> str:
        return f"Account({str(self.root)!r})"

    @property
    def separator(self) -> str:
        return self.names.separator

    def path_of(self, name: str) -> Path:
        """The directory of folder `name` (FolderNameError for names that cannot be)."""
        return self.names.path(self.root, name)

    def name_of(self, key: str) -> str | None:
        """The folder name of a folder directory (a `folder_key`), None when it is not
        one of this account's folders."""
        root = folder_key(self.root)
        if key == root:
            return INBOX
        if os.path.dirname(key) != root:
            return None
        try:
            return self.names.name(os.path.basename(key))
        except FolderNameError:
            return None

    def _announce(self, kind: ListChangeKind, name: str, old_name: str | None = None) -> None:
        """Tell NOTIFY listeners (RFC 5465 §5.4, §5.5) of a change to the folder list."""
        self.store.events.announce(self.root, ListChange(kind, name, old_name))

    def _quota(self) -> Quota:
        return Quota(self.root, self.quota_bytes)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await self.store._threads.run(function, *args)

    async def _change(self, function: Callable[..., T], *args: object) -> T:
        """Run a change of the account's folders or subscriptions: its list is made anew."""
        try:
            return await self._run(function, *args)
        finally:
            self.store.folder_lists.forget(self.root)

    # -- folders --

    async def open(self, name: str) -> Mailbox:
        """The folder, shared with every other session that has it open; `close()` it."""
        path = self.path_of(name)
        shared = self.store.opened(path)
        # Open in this process already: its directories were checked when it was
        # opened, and a removal since shows in a sync (`Mailbox.deleted`), which costs
        # less than checking them again in a store thread.
        if (shared is None or shared.deleted) and not await self._run(self._prepare, path):
            raise FolderNotFound(name)
        mailbox = await self.store.open_mailbox(path, self._quota())
        if shared is not None and not shared.deleted:
            await mailbox.sync()
            if mailbox.deleted:
                await mailbox.close()
                raise FolderNotFound(name)
        return mailbox

    def _prepare(self, path: Path) -> bool:
        """Whether the folder at `path` exists; if so, make its missing cur/, new/ or tmp/
        as Dovecot does when it opens one (INBOX, the root, always exists)."""
        if path == self.root:
            Maildir(self.root, hostname=self.store.hostname).create()
        elif is_folder(path):
            Maildir(path, hostname=self.store.hostname, is_folder=True).create()
        else:
            return False
        return True

    async def status(self, name: str, *, recent: bool = True) -> FolderStatus:
        """STATUS of a folder (cheap when some session has it open). Its recent count
        is up to date only with `recent` (a look at the index, in a store thread)."""
        mailbox = await self.open(name)
        try:
            await mailbox.sync(recent=recent)
            return mailbox.status()
        finally:
            await mailbox.close()

    async def folders(self) -> list[FolderInfo]:
        """Every folder (INBOX first), missing parents, and subscribed names with no folder
        (kept while unchanged: folder_list.py)."""
        kept = self.store.folder_lists.get(self.root)
        if kept is not None:
            return kept
        stamp, folders = await self._run(
            list_folders, self.root, self.names, self.store.special_use
        )
        self.store.folder_lists.keep(self.root, stamp, folders)
        return folders

    async def ensure_default_folders(self) -> None:
        """Create the Maildir if missing; a new, empty one also gets Sent, Drafts, Trash,
        Junk and Archive, subscribed (default_folders.py). An existing Maildir gets
        nothing added: not a folder, not a line in its `subscriptions`."""
        created = await self._run(
            functools.partial(
                create_default_folders,
                hostname=self.store.hostname,
                lock_wait=self.store.lock_wait,
            ),
            self.root,
            self.names,
        )
        if created:
            self.store.folder_lists.forget(self.root)

    async def create(self, name: str, special_use: str | None = None) -> None:
        """CREATE (RFC 9051 §6.3.4; USE, RFC 6154 §3). FolderExists if it is there."""
        name = self.names.normalize(name)
        if special_use is not None and special_use not in SUPPORTED:
            raise SpecialUseError(f"{special_use} cannot be given to a folder here")
        await self._change(self._create, name, special_use)
        self._announce(ListChangeKind.CREATED, name)

    def _create(self, name: str, special_use: str | None) -> None:
        path = self.path_of(name)
        if path == self.root or is_folder(path):
            raise FolderExists(name)
        Maildir(self.root, hostname=self.store.hostname).create_folder(
            ".".join(self.names.levels(name))
        )
        if special_use is not None:
            change_special_use(self.root, set_to={path.name: special_use})

    async def delete(self, name: str) -> None:
        """DELETE (RFC 9051 §6.3.5): the folder and its messages; its children stay."""
        name = self.names.normalize(name)
        path = self.path_of(name)
        if path == self.root:
            raise FolderError("INBOX cannot be deleted")
        await self._change(self._delete, name, path)
        self.store._forget(path)
        self._announce(ListChangeKind.DELETED, name)

    def _delete(self, name: str, path: Path) -> None:
        if not path.is_dir():
            raise FolderNotFound(name)
        used_bytes, used_messages = scan_usage(path)  # a folder has no dot directories
        aside = self.root / f"mailroom-deleting-{unique_name(self.store.hostname)}"
        os.rename(path, aside)  # atomic: no half-deleted folder is ever listed
        if read_special_use(self.root).get(path.name) is not None:
            change_special_use(self.root, set_to={path.name: None})
        shutil.rmtree(aside, ignore_errors=True)
        if used_messages:
            record_delivery(self.root, -used_bytes, -used_messages)

    async def rename(self, old: str, new: str) -> None:
        """RENAME (RFC 9051 §6.3.6); children move along; INBOX's messages move out."""
        old = self.names.normalize(old)
        new = self.names.normalize(new)
        new_path = self.path_of(new)
        if new_path == self.root:
            raise FolderExists(new)
        if self.path_of(old) == self.root:
            await self._rename_inbox(new)
            return
        if new == old or self.names.is_inside(new, old):
            raise FolderNameError(f"{old!r} cannot be renamed into itself")
        moved = await self._change(self._rename, old, new)
        for source, target in moved.items():
            self.store._forget(self.root / source)
            with contextlib.suppress(FolderNameError):
                self._announce(
                    ListChangeKind.RENAMED, self.names.name(target), self.names.name(source)
                )

    def _rename(self, old: str, new: str) -> dict[str, str]:
        """Rename the folder and those below it; their directories, old → new."""
        old_directory = self.path_of(old).name
        new_directory = self.path_of(new).name
        family = [
            d
            for d in folder_directories(self.root)
            if d == old_directory or d.startswith(old_directory + ".")
        ]
        if not family:
            raise FolderNotFound(old)
        targets = {d: new_directory + d[len(old_directory) :] for d in family}
        for target in targets.values():
            # The length first: exists() of an over-long name raises ENAMETOOLONG.
            if len(target.encode()) > 255:
                raise FolderNameError(f"{new!r}: a folder below it would get too long a name")
            if (self.root / target).exists():
                raise FolderExists(self.names.name(target))
        for source, target in targets.items():
            os.rename(self.root / source, self.root / target)
        recorded = read_special_use(self.root)
        changes: dict[str, str | None] = {}
        for source, target in targets.items():
            if source in recorded:
                changes[source] = None
                changes[target] = recorded[source]
        if changes:
            change_special_use(self.root, set_to=changes)
        self._rename_subscriptions(targets)
        return targets

    def _rename_subscriptions(self, targets: dict[str, str]) -> None:
        subscribed = set(subscribed_names(self.root, self.names))
        remove, add = [], []
        for source, target in targets.items():
            name = self.names.name(source)
            if name in subscribed:
                remove.append(tuple(self.names.levels(name)))
                add.append(tuple(self.names.levels(self.names.name(target))))
        if remove:
            change_subscriptions(self.root, add=add, remove=remove, wait=self.store.lock_wait)

    async def _rename_inbox(self, new: str) -> None:
        """RFC 9051 §6.3.6: INBOX's messages move to a new folder; INBOX stays, empty."""
        await self.create(new)
        inbox = await self.open(INBOX)
        try:
            target = await self.open(new)
            try:
                await inbox.sync()
                await inbox.move([m.uid for m in inbox.messages], target)
            finally:
                await target.close()
        finally:
            await inbox.close()

    # -- subscriptions --

    async def subscribe(self, name: str) -> None:
        """SUBSCRIBE (RFC 9051 §6.3.7): allowed for names that do not exist (yet)."""
        name = self.names.normalize(name)
        await self._change(self._change_subscriptions, [tuple(self.names.levels(name))], [])
        self._announce(ListChangeKind.SUBSCRIBED, name)

    async def unsubscribe(self, name: str) -> None:
        name = self.names.normalize(name)
        await self._change(self._change_subscriptions, [], [tuple(self.names.levels(name))])
        self._announce(ListChangeKind.UNSUBSCRIBED, name)

    def _change_subscriptions(self, add: list[Levels], remove: list[Levels]) -> None:
        Maildir(self.root, hostname=self.store.hostname).create()
        change_subscriptions(self.root, add=add, remove=remove, wait=self.store.lock_wait)

    async def subscriptions(self) -> list[str]:
        return await self._run(subscribed_names, self.root, self.names)

    # -- quota --

    async def quota(self) -> tuple[int, int | None, int]:
        """(bytes used, byte limit or None, messages) of the whole account (RFC 9208)."""
        usage = await self._run(current_usage, self.root, self.quota_bytes)
        return usage.used_bytes, self.quota_bytes, usage.used_messages
