"""A selected folder, shared by every IMAP and POP3 session of this process.

There is one `Mailbox` per folder directory per process (the `MailStore`
hands them out, counting references). Sessions keep only their own view,
a list of UIDs, and read the shared state: `messages` (sorted by UID, with
O(log n) lookup through `find`), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ.
Everything that touches the disk or the index runs in the store's worker
threads (folder_state.py), one operation at a time per folder; the state
that readers see is an immutable snapshot replaced in one step.

Every change made here calls `MailboxEvents.notify(path)`, so sessions in
IDLE wake at once; `sync()` picks up changes other processes made.

Writing follows Maildir and Dovecot: APPEND writes to tmp/, fsyncs, renames
into new/ (no flags: the message is \\Recent, as Dovecot does) or cur/
(with its flags), fsyncs the directory, sets the file's mtime to the
internal date and numbers it under the `dovecot-uidlist` lock. COPY makes
hard links (Dovecot's maildir copy does) and falls back to copying the
bytes; MOVE renames the files into the target, then expunges the originals'
records (RFC 6851 §3.3).
The Maildir++ quota (`maildirsize`) is checked before anything is written
and updated after.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import io
import logging
import os
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from mailroom.store.errors import FolderError, MailboxDeleted, QuotaExceeded
from mailroom.store.events import MailboxEvents, Waiter, disk_stamp
from mailroom.store.file_changes import Directories, FlagMode, NewFile
from mailroom.store.filename import INFO_SEPARATOR, base_name, new_base_names
from mailroom.store.flags import SYSTEM_FLAGS, info_letters, split_flags
from mailroom.store.folder_state import FolderState
from mailroom.store.keywords import (
    MAX_KEYWORDS,
    Keywords,
    KeywordsError,
    add_keywords,
    read_keywords,
)
from mailroom.store.maildir import Maildir
from mailroom.store.message_reading import (
    cached_value,
    cached_values,
    read_message,
    read_messages,
    search_text,
)
from mailroom.store.quota import current_usage, record_delivery
from mailroom.store.snapshot import MessageInfo, Snapshot
from mailroom.store.uidlist import LOCK_WAIT_SECONDS

log = logging.getLogger(__name__)

T = TypeVar("T")
_SYSTEM = frozenset(SYSTEM_FLAGS.values())
_LINK_UNSUPPORTED = (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK)
_RENAME_UNSUPPORTED = (errno.EXDEV,)


@dataclass(frozen=True)
class _Imported:
    """What `Mailbox._import` did: (source UID, new UID) pairs; the source UIDs whose
    file had gone (renamed by another process: look again); those renamed away."""

    pairs: list[tuple[int, int]]
    missing: list[int]
    renamed: set[int]


@dataclass(frozen=True)
class Quota:
    """The Maildir++ quota a mailbox's account has: its root (where `maildirsize` is)."""

    root: Path
    limit_bytes: int | None


@dataclass(frozen=True)
class FolderStatus:
    """What STATUS reports (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE)."""

    messages: int
    uidnext: int
    uidvalidity: int
    unseen: int
    recent: int
    size: int
    highestmodseq: int
    deleted: int


class Mailbox:
    """One folder directory, open for any number of sessions."""

    def __init__(
        self,
        path: Path,
        *,
        events: MailboxEvents,
        executor: Executor | None,
        search_text: Callable[[bytes], tuple[str, str]],
        hostname: str,
        quota: Quota | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.path = path
        self.events = events
        self.quota = quota
        self.hostname = hostname
        self.deleted = False
        """Set when the folder was deleted or renamed while open: sessions should leave."""
        self._executor = executor
        self._extract = search_text
        self._state = FolderState(path, lock_wait=lock_wait)
        self._lock = asyncio.Lock()
        self._references = 0
        self._background: set[asyncio.Task[object]] = set()
        self._flushing: asyncio.Task[None] | None = None
        self._release: Callable[[Mailbox], Awaitable[None]] | None = None

    def __repr__(self) -> str:
        return f"Mailbox({str(self.path)!r})"

    # -- shared state (no I/O) --

    @property
    def snapshot(self) -> Snapshot:
        """Everything below at one moment (a session that needs several values at once)."""
        return self._state.snapshot

    @property
    def messages(self) -> Sequence[MessageInfo]:
        return self._state.snapshot.messages

    @property
    def uidvalidity(self) -> int:
        return self._state.snapshot.uidvalidity

    @property
    def uidnext(self) -> int:
        return self._state.snapshot.uidnext

    @property
    def highestmodseq(self) -> int:
        return self._state.snapshot.highestmodseq

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keywords the folder knows (FLAGS, PERMANENTFLAGS)."""
        return self._state.snapshot.keywords

    @property
    def can_create_keywords(self) -> bool:
        """Whether PERMANENTFLAGS may include \\* (Maildir holds 26 keywords per folder)."""
        return len(self._state.snapshot.keywords) < MAX_KEYWORDS

    def find(self, uid: int) -> MessageInfo | None:
        return self._state.snapshot.find(uid)

    def changed_since(self, modseq: int) -> list[MessageInfo]:
        """Messages whose modseq is above `modseq` (CONDSTORE CHANGEDSINCE)."""
        return [m for m in self._state.snapshot.messages if m.modseq > modseq]

    def vanished_since(self, modseq: int) -> list[int]:
        """UIDs expunged after `modseq` (QRESYNC, RFC 7162 §3.2.10).

        When the index was rebuilt after `modseq`, the exact answer is lost;
        then every UID below UIDNEXT that is not a message now is reported,
        which RFC 7162 §3.2.5.2 allows (the client ignores UIDs it never had).
        """
        state = self._state
        if modseq < state.history_start:
            present = set(state.snapshot.uids)
            return [uid for uid in range(1, state.snapshot.uidnext) if uid not in present]
        modseqs, uids = state.expunged_modseqs, state.expunged_uids
        low, high = 0, len(modseqs)
        while low < high:
            middle = (low + high) // 2
            if modseqs[middle] <= modseq:
                low = middle + 1
            else:
                high = middle
        return sorted(set(uids[low:]) - set(state.snapshot.uids))

    def status(self) -> FolderStatus:
        snapshot = self._state.snapshot
        unseen = recent = deleted = size = 0
        for message in snapshot.messages:
            flags = message.flags
            unseen += "\\Seen" not in flags
            deleted += "\\Deleted" in flags
            recent += message.recent
            size += message.size
        return FolderStatus(
            messages=len(snapshot.messages),
            uidnext=snapshot.uidnext,
            uidvalidity=snapshot.uidvalidity,
            unseen=unseen,
            recent=recent,
            size=size,
            highestmodseq=snapshot.highestmodseq,
            deleted=deleted,
        )

    def watch(self) -> contextlib.AbstractAsyncContextManager[Waiter]:
        """`async with mailbox.watch() as waiter: await waiter.wait()` (IDLE)."""
        return self.events.watch(self.path)

    # -- running blocking work --

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function` in a store thread, one at a time for this folder."""
        async with self._lock:
            return await self._thread(function, *args)

    async def _thread(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args))
        finally:
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Have the index's queued writes made in a store thread of their own, now that
        the caller has its answer (the index is a cache: see index.py)."""
        if self._flushing is not None or not self._state.writes_pending():
            return
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._flush())
        self._flushing = task
        self._background.add(task)
        task.add_done_callback(self._background_done)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._state.flush_index)
        finally:
            self._flushing = None
        self._flush_soon()  # written meanwhile

    def _in_background(self, function: Callable[..., object], *args: object) -> None:
        """Run `function` in a store thread once the folder's work so far is done,
        without waiting for it: work that only saves later work. The folder's next
        operations queue behind it; closing the folder waits for it."""
        task = asyncio.get_running_loop().create_task(self._run(function, *args))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: background work failed: %s", self.path, task.exception())

    async def settled(self) -> None:
        """Wait for the background work started so far (tests, and closing)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _changed(self) -> None:
        self.events.notify(self.path)

    # -- opening --

    async def open(self) -> None:
        """Load the index and sync with the disk (the `MailStore` calls this once)."""
        await self._run(self._state.open)

    async def close(self) -> None:
        """This user is done with the folder (the last one closes the index)."""
        if self._release is not None:
            await self._release(self)
        else:
            await self._close()

    async def _close(self) -> None:
        await self.settled()
        await self._run(self._state.close)

    # -- syncing --

    async def sync(self) -> bool:
        """Look at the disk again; whether anything changed. Cheap when nothing did."""
        changed = await self._run(self._state.sync)
        if changed:
            if not await self._thread(os.path.isdir, self.path / "cur"):
                self.deleted = True
            self._changed()  # other sessions of this folder need not wait for their poll
        return changed

    async def claim_recent(self) -> list[int]:
        """Move messages from new/ to cur/ and return their UIDs: \\Recent for the caller.

        Each message is claimed once, by whichever session asks first, as in
        Dovecot (RFC 3501 §2.3.2: \\Recent in one session only).
        """
        return await self._run(self._state.claim_recent)

    # -- flags --

    async def store_flags(
        self,
        uids: Iterable[int],
        mode: FlagMode,
        flags: Iterable[str],
        unchangedsince: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        """Set, add or remove flags; (messages changed, UIDs that failed UNCHANGEDSINCE).

        FlagError for a flag that cannot be stored, TooManyKeywords past 26
        keywords (both before anything changes). Messages whose flags were
        already so are not "changed" and keep their modseq.
        """
        changed, failed = await self._run(
            self._state.store_flags, list(uids), mode, list(flags), unchangedsince
        )
        if changed:
            self._changed()
        return changed, failed

    # -- adding messages --

    async def append(
        self,
        source: bytes | Path,
        flags: Iterable[str] = (),
        internaldate: datetime | None = None,
    ) -> MessageInfo:
        """Add a message (bytes, or a file to copy); it is on stable storage when this returns.

        QuotaExceeded (nothing written) if its size does not fit.
        """
        (message,) = await self.append_many([(source, flags, internaldate)])
        return message

    async def append_many(
        self, messages: Sequence[tuple[bytes | Path, Iterable[str], datetime | None]]
    ) -> list[MessageInfo]:
        """MULTIAPPEND (RFC 3502): all the messages, or (on any error) none of them.

        Every message is written to tmp/ and fsynced first; only then do they
        enter the folder together, with consecutive UIDs.
        """
        prepared = []
        for source, flags, internaldate in messages:
            system, keywords = split_flags(flags)
            date = internaldate.timestamp() if internaldate is not None else None
            prepared.append((source, system, keywords, date))
        added = await self._run(self._append, prepared)
        self._changed()
        return added

    def _append(
        self,
        messages: list[tuple[bytes | Path, frozenset[str], frozenset[str], float | None]],
    ) -> list[MessageInfo]:
        self._check_exists()
        known = sum(
            len(source) if isinstance(source, bytes) else source.stat().st_size
            for source, _, _, _ in messages
        )
        self._check_quota(known)
        maildir = Maildir(self.path, hostname=self.hostname)
        items: list[NewFile] = []
        try:
            wanted = frozenset().union(*(keywords for _, _, keywords, _ in messages))
            mapping = self._mapping_with(wanted)
            for source, system, keywords, date in messages:
                with io.BytesIO(source) if isinstance(source, bytes) else source.open("rb") as file:
                    tmp = maildir.write_tmp(file)
                base = base_name(tmp.name, tmp.size, tmp.virtual_size)
                target = tmp.path.with_name(base)
                os.rename(tmp.path, target)
                info = info_letters("", system, keywords, mapping) if system or keywords else None
                items.append(
                    NewFile(os.fspath(target), base, info, date, tmp.size, tmp.virtual_size)
                )
        except BaseException:
            for item in items:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.path)
            raise
        added = self._state.add_files(items)
        self._record_usage(sum(item.stored_size for item in items), len(items))
        return added

    def _check_exists(self) -> None:
        """Writing into a deleted folder would bring its directories back: refuse."""
        if self.deleted or not (self.path / "cur").is_dir():
            self.deleted = True
            raise MailboxDeleted(f"{self.path.name or 'INBOX'}: the folder has been deleted")

    def _mapping_with(self, keywords: frozenset[str]) -> Keywords:
        mapping = read_keywords(self.path)
        if keywords:
            mapping = add_keywords(self.path, keywords, wait=self._state.lock_wait)
            self._state.refresh_keywords()
        return mapping

    def _check_quota(self, size: int) -> None:
        quota = self.quota
        if quota is None or quota.limit_bytes is None:
            return
        used = current_usage(quota.root, quota.limit_bytes).used_bytes
        if used + size > quota.limit_bytes:
            raise QuotaExceeded(
                f"the mailbox is full: {used} of {quota.limit_bytes} bytes used, "
                f"the message needs {size}"
            )

    def _record_usage(self, size: int, count: int) -> None:
        if self.quota is not None and count:
            record_delivery(self.quota.root, size, count)

    async def copy(self, uids: Iterable[int], target: Mailbox) -> list[tuple[int, int]]:
        """Copy messages with their flags; (source UID, new UID) pairs for COPYUID (RFC 4315)."""
        pairs, _ = await self._copy(uids, target, moving=False)
        if pairs:
            target._changed()
        return pairs

    async def move(self, uids: Iterable[int], target: Mailbox) -> list[tuple[int, int]]:
        """Move messages (RFC 6851): each file is renamed into `target`, then the
        originals are expunged here; the (source UID, new UID) pairs.

        A crash in between leaves each message in one folder or the other, never
        lost, and never in both: a renamed file has left this folder already (its
        next sync records the expunge), and one without a UID in `target` yet is
        numbered by that folder's next sync. Where the folders are on different file
        systems, the files are copied and the originals then deleted."""
        pairs, renamed = await self._copy(uids, target, moving=True)
        if pairs:
            moved = {source for source, _ in pairs}
            removed = await self._run(self._state.expunge, moved, False, renamed)
            await self._thread(
                self._record_usage, -sum(m.stored_size for m in removed), -len(removed)
            )
            target._changed()
            self._changed()
        return pairs

    async def _copy(
        self, uids: Iterable[int], target: Mailbox, *, moving: bool
    ) -> tuple[list[tuple[int, int]], set[int]]:
        """Link (or, `moving`, rename) the messages into `target`: the (source UID, new
        UID) pairs, and the source UIDs whose files were renamed away. A MOVE's copies
        are not counted against the quota (the originals go)."""
        wanted = sorted(set(uids))
        pairs: list[tuple[int, int]] = []
        renamed: set[int] = set()
        for attempt in range(2):
            sources = [m for m in map(self.find, wanted) if m is not None]
            if not sources:
                break
            imported = await target._run(target._import, sources, moving)
            pairs += imported.pairs
            renamed |= imported.renamed
            if not imported.missing or attempt:
                break
            await self.sync()  # renamed by another process meanwhile: find their new names
            wanted = imported.missing
        pairs.sort()
        if pairs:
            # What the originals' index knew goes along after the answer, the texts
            # (megabytes for a thousand messages) last; only a MOVE waits for the cached
            # values, as its expunge removes the originals' at once. The texts stay
            # until the source's next search; a search of the copies that comes first
            # extracts what is missing itself.
            if moving:
                await target._run(_carry_derived, self._state, target._state, pairs, False)
            else:
                target._in_background(_carry_derived, self._state, target._state, pairs, False)
            target._in_background(_carry_derived, self._state, target._state, pairs, True)
        return pairs, renamed

    def _import(self, sources: list[MessageInfo], moving: bool) -> _Imported:
        """In this (the target) folder: take the messages' files in and number them.

        A copy is a hard link (Dovecot's maildir copy makes them too), a move a
        rename; either goes straight into new/ or cur/, as a link or a rename appears
        whole (tmp/ has no part to play, and the file keeps its mtime, the internal
        date). Where the file system cannot link or rename across, the bytes are
        copied through tmp/ and fsynced."""
        self._check_exists()
        if not moving:
            self._check_quota(sum(m.stored_size for m in sources))
        # Nothing else of ours changes this folder meanwhile (the folder's operations
        # run one at a time): what changes from here is ours (FolderState._own_change).
        before = disk_stamp(self.path)
        mapping = self._mapping_for_copies(sources)
        transfer = os.rename if moving else os.link
        unsupported = _RENAME_UNSUPPORTED if moving else _LINK_UNSUPPORTED
        items: list[NewFile] = []
        taken: list[MessageInfo] = []  # the source of each item
        missing: list[int] = []
        renamed: set[int] = set()
        folder = os.fspath(self.path)
        bases = new_base_names(self.hostname, [(m.stored_size, m.size) for m in sources])
        # Flags → letters in this folder, once per distinct set (a few dozen per folder).
        letters: dict[tuple[str, frozenset[str]], str | None] = {}
        try:
            with Directories() as directories:
                tmp = directories.open(os.path.join(folder, "tmp"))
                # The target directory of each file (fd) and its path (with a final "/").
                into = {
                    sub: (directories.open(path), os.path.join(path, ""))
                    for sub, path in ((s, os.path.join(folder, s)) for s in ("new", "cur"))
                }
                tmp_prefix = os.path.join(folder, "tmp", "")
                for message, base in zip(sources, bases, strict=True):
                    key = (message.info, message.flags)
                    if key in letters:
                        info = letters[key]
                    else:
                        keywords = frozenset(
                            k for k in message.flags - _SYSTEM if mapping.letter_for(k)
                        )
                        info = letters[key] = (
                            info_letters(message.info, message.flags & _SYSTEM, keywords, mapping)
                            or None
                        )
                    final = base if info is None else f"{base}{INFO_SEPARATOR}{info}"
                    source = directories.fd(message.folder, message.recent)
                    target, prefix = into["new" if info is None else "cur"]
                    try:
                        transfer(message.file_name, final, src_dir_fd=source, dst_dir_fd=target)
                        path, placed = prefix + final, True
                    except FileNotFoundError:
                        missing.append(message.uid)
                        continue
                    except OSError as error:
                        if error.errno not in unsupported:
                            raise
                        try:
                            _copy_file(message.file_name, source, base, tmp)
                        except FileNotFoundError:
                            missing.append(message.uid)
                            continue
                        path, placed = tmp_prefix + base, False
                    if placed and moving:
                        renamed.add(message.uid)
                    items.append(
                        NewFile(
                            path,
                            base,
                            info,
                            message.internaldate.timestamp(),
                            message.stored_size,
                            message.size,
                            dated=placed,
                            placed=placed,
                        )
                    )
                    taken.append(message)
        except BaseException:
            # A renamed original must not be deleted: put it back where it was.
            for item, message in zip(items, taken, strict=True):
                with contextlib.suppress(OSError):
                    if message.uid in renamed:
                        os.rename(item.path, message.file_path)
                    else:
                        os.unlink(item.path)
            raise
        if not items:
            return _Imported([], missing, renamed)
        added = self._state.add_files(items, before)
        self._record_usage(sum(item.stored_size for item in items), len(items))
        new_uids = {m.base_name: m.uid for m in added}
        pairs = [
            (message.uid, new_uids[item.base])
            for message, item in zip(taken, items, strict=True)
            if item.base in new_uids
        ]
        return _Imported(pairs, missing, renamed)

    def _mapping_for_copies(self, sources: list[MessageInfo]) -> Keywords:
        """This folder's keywords, with those of the copies added where there is room."""
        wanted = frozenset().union(*(m.flags - _SYSTEM for m in sources))
        try:
            return self._mapping_with(wanted)
        except KeywordsError:
            # Past 26 keywords: Maildir cannot carry the rest; the copies lose them.
            for keyword in sorted(wanted):
                with contextlib.suppress(KeywordsError):
                    self._mapping_with(frozenset([keyword]))
            log.warning("%s: keywords lost on copy: no room for more than 26", self.path)
            return read_keywords(self.path)

    # -- removing messages --

    async def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Remove the messages flagged \\Deleted (among `uids`, if given); their UIDs.

        This is EXPUNGE, CLOSE and UID EXPUNGE (RFC 4315 §2.1): a message
        without \\Deleted is never removed here.
        """
        return await self._remove(None if uids is None else set(uids), deleted_only=True)

    async def remove(self, uids: Iterable[int]) -> list[int]:
        """Remove these messages, flagged \\Deleted or not; the UIDs that were still here.

        This is POP3's UPDATE state (RFC 1939 §6): what DELE marked goes at QUIT. One
        step, so no crash leaves a message flagged \\Deleted that the user never asked
        an IMAP client to delete."""
        return await self._remove(set(uids), deleted_only=False)

    async def _remove(self, selected: set[int] | None, *, deleted_only: bool) -> list[int]:
        removed = await self._run(self._state.expunge, selected, deleted_only)
        if removed:
            await self._thread(
                self._record_usage, -sum(m.stored_size for m in removed), -len(removed)
            )
            self._changed()
        return [m.uid for m in removed]

    # -- reading --

    async def pop3_uidls(self) -> dict[int, str]:
        """POP3 UIDLs that `dovecot-uidlist` keeps for some messages, by UID (see
        `FolderState.pop3_uidls`); the others are made from UID and UIDVALIDITY."""
        return await self._run(self._state.pop3_uidls)

    async def read(self, uid: int) -> bytes:
        """The message with CRLF line ends; MessageGone if it has been expunged."""
        return await self._thread(read_message, self._state, uid)

    async def cached(self, uid: int, field: str, compute: Callable[[bytes], bytes]) -> bytes:
        """`compute(message)` for this message, kept in the index under `field`."""
        return await self._thread(cached_value, self._state, uid, field, compute)

    async def read_many(self, uids: Iterable[int]) -> dict[int, bytes]:
        """Several messages in one trip to a store thread; expunged ones are missing."""
        return await self._thread(read_messages, self._state, list(uids))

    async def cached_many(
        self, uids: Iterable[int], field: str, compute: Callable[[bytes], bytes]
    ) -> dict[int, bytes]:
        """`cached` for several messages in one trip; expunged ones are missing."""
        return await self._thread(cached_values, self._state, list(uids), field, compute)

    async def search_text(
        self, needle: str, uids: Iterable[int], *, body_only: bool = False
    ) -> set[int]:
        """The UIDs among `uids` whose text (header and decoded body, or only the body
        with `body_only`) holds `needle`.

        Case-insensitive substring search (RFC 9051 §6.4.4) over the texts kept in
        the index, extracted from the files of messages that have none yet.
        """
        return await self._thread(
            search_text, self._state, needle, set(uids), self._extract, body_only
        )


def _carry_derived(
    source: FolderState, target: FolderState, pairs: list[tuple[int, int]], texts: bool
) -> None:
    """Copies keep what the source's index knew of the originals (envelope, body
    structure; or the search texts), as Dovecot's cache does, so nothing is computed
    again. Only a saving: what is not taken along is computed again when needed."""
    try:
        with target.locked_index() as index:
            # Copies expunged meanwhile would leave rows nobody removes.
            present = [(old, new) for old, new in pairs if target.snapshot.find(new) is not None]
            index.take_derived(source.path, present, texts=texts)
    except (sqlite3.Error, FolderError) as error:
        # Closed (deleted) meanwhile, or an index that cannot be read: nothing lost.
        log.info("%s: cached values not copied from %s: %s", target.path, source.path, error)


def _copy_file(source: str, source_dir: int, target: str, target_dir: int) -> None:
    """A durable copy of `source` (in `source_dir`) as `target` (in `target_dir`), where
    the file system cannot link."""
    with (
        open(os.open(source, os.O_RDONLY | os.O_CLOEXEC, dir_fd=source_dir), "rb") as reader,
        open(
            os.open(
                target,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                0o600,
                dir_fd=target_dir,
            ),
            "wb",
        ) as writer,
    ):
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())
