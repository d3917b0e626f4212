"""A selected folder, shared by every IMAP and POP3 session of this process.

There is one `Mailbox` per folder directory per process (the `MailStore`
hands them out, counting references). Sessions keep only their own view,
a list of UIDs, and read the shared state: `messages` (sorted by UID, with
O(log n) lookup through `find`), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ.
Everything that touches the disk or the index runs in the store's worker
threads (folder_work.py; the work itself is folder_state.py's), one
operation at a time per folder; the state that readers see is an immutable
snapshot replaced in one step (folder_view.py).

Every change made here wakes the folder's waiters (`MailboxEvents.notify`),
so sessions in IDLE wake at once; `sync()` picks up changes other processes
made.

APPEND, COPY and MOVE put messages into the folder through the store's one
write path (writing.py: the quota, tmp/ and fsync, links into new/ or cur/,
numbering under the `dovecot-uidlist` lock). COPY makes hard links
(Dovecot's maildir copy does); MOVE renames the files into the target, then
expunges the originals' records (RFC 6851 §3.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from mailroom.store.errors import FolderError, MailboxDeleted
from mailroom.store.events import MailboxEvents
from mailroom.store.file_changes import FlagMode
from mailroom.store.flags import SYSTEM_FLAG_SET, split_flags
from mailroom.store.folder_state import FolderState
from mailroom.store.folder_view import FolderView
from mailroom.store.folder_work import FolderWork
from mailroom.store.keywords import (
    Keywords,
    KeywordsError,
    add_keywords,
    read_keywords,
)
from mailroom.store.message_reading import (
    cached_value,
    cached_values,
    read_message,
    read_messages,
    search_text,
)
from mailroom.store.quota import Quota, record_delivery
from mailroom.store.snapshot import MessageInfo
from mailroom.store.threads import StoreThreads
from mailroom.store.uidlist import LOCK_WAIT_SECONDS
from mailroom.store.writing import FolderWriter, NewMessage

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class _Imported:
    """What `Mailbox._import` did: (source UID, new UID) pairs; the source UIDs whose
    file had gone (renamed by another process: look again); those renamed away."""

    pairs: list[tuple[int, int]]
    missing: list[int]
    renamed: set[int]


class Mailbox(FolderView, FolderWork):
    """One folder directory, open for any number of sessions."""

    def __init__(
        self,
        path: Path,
        *,
        events: MailboxEvents,
        threads: StoreThreads,
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
        self._threads = threads
        self._extract = search_text
        self._state = FolderState(path, lock_wait=lock_wait)
        self._lock = asyncio.Lock()
        self._references = 0
        self._background: set[asyncio.Task[object]] = set()
        self._flushing: asyncio.Task[None] | None = None
        self._release: Callable[[Mailbox], Awaitable[None]] | None = None

    def __repr__(self) -> str:
        return f"Mailbox({str(self.path)!r})"

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

    async def sync(self, *, recent: bool = False) -> bool:
        """Look at the disk again; whether anything changed. Cheap when nothing did: a
        few stat() calls, made here rather than in a store thread (a thread's round trip
        cost more than they do). With `recent`, learn of recent messages other processes
        claimed too (STATUS): that needs the index, in a store thread."""
        if not recent and self._state.seems_unchanged():
            return False
        changed = await self._run(lambda: self._state.sync(recent=recent))
        if changed:
            if not await self._thread(os.path.isdir, self.path / "cur"):
                self.deleted = True
            self._changed()  # other sessions of this folder need not wait for their poll
        return changed

    async def claim_recent(self, first: int, last: int) -> list[int]:
        """Claim the \\Recent messages with UIDs from `first` to `last` (those the caller
        knows): their UIDs, recent for the caller.

        Each message is claimed once, by whichever session asks first, as in
        Dovecot (RFC 3501 §2.3.2: \\Recent in one session only): a message is
        recent from when it enters the folder (delivered, appended, copied or moved
        in) until a session that has the folder selected read-write claims it. The
        first recent UID is kept in the folder's index, so that sessions of other
        processes see the claim (folder_state.py).
        """
        return await self._run(self._state.claim_recent, first, last)

    async def recent_uids(self, first: int, last: int) -> list[int]:
        """The UIDs from `first` to `last` still recent and unclaimed, claiming none:
        what EXAMINE shows as \\Recent (Dovecot's read-only sessions see them so)."""
        return await self._run(self._state.recent_uids, first, last)

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
            prepared.append(NewMessage(source, system, keywords, date))
        return await self._run(self._append, prepared)

    def _append(self, messages: list[NewMessage]) -> list[MessageInfo]:
        self._check_exists()
        return self._writer().put(messages, self._mapping_with).added

    def _writer(self) -> FolderWriter:
        """The one write path (writing.py), numbering into this folder's state."""
        return FolderWriter(
            self.path,
            hostname=self.hostname,
            quota=self.quota,
            events=self.events,
            state=self._state,
        )

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

    def _record_usage(self, size: int, count: int) -> None:
        if self.quota is not None and count:
            record_delivery(self.quota.root, size, count)

    async def copy(self, uids: Iterable[int], target: Mailbox) -> list[tuple[int, int]]:
        """Copy messages with their flags; (source UID, new UID) pairs for COPYUID (RFC 4315)."""
        pairs, _ = await self._copy(uids, target, moving=False)
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
        """In this (the target) folder: take the messages' files in and number them
        (writing.py: a copy is a hard link, a move a rename)."""
        self._check_exists()
        put = self._writer().put_copies(
            sources, lambda: self._mapping_for_copies(sources), moving=moving
        )
        missing = [sources[position].uid for position in put.missing]
        renamed = {sources[position].uid for position in put.renamed}
        new_uids = {m.base_name: m.uid for m in put.added}
        pairs = [
            (sources[position].uid, new_uids[item.base])
            for position, item in zip(put.positions, put.files, strict=True)
            if item.base in new_uids
        ]
        return _Imported(pairs, missing, renamed)

    def _mapping_for_copies(self, sources: list[MessageInfo]) -> Keywords:
        """This folder's keywords, with those of the copies added where there is room."""
        wanted = frozenset().union(*(m.flags - SYSTEM_FLAG_SET for m in sources))
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
