"""What one folder's worker holds in memory, and how sessions get to see it.

`FolderMemory` is the base of `FolderState` (folder_state.py; syncing with the disk
in between, folder_sync.py). It holds the folder's open index (index.py), its
keywords, the expunge history QRESYNC asks about, and the `Snapshot` it publishes:
messages sorted by UID, an array of UIDs for O(log n) lookup, UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ; and the first recent UID. One attribute assignment replaces the
snapshot, so readers on the event loop see the old state or the new one, never half
of each, and take no lock.
Every method runs in a worker thread with the folder's lock held (a threading.Lock,
so that a cancelled caller can never let two threads into the index).

Modseqs (RFC 7162): each operation (a sync that found changes, a STORE, an APPEND,
an EXPUNGE) takes HIGHESTMODSEQ + 1 for everything it changed (`_next_modseq`), inside
a write transaction of the index (`MailboxIndex.change`) that writes the changed rows
too. Every process sharing the folder does the same, so each change gets its modseq
once, from whichever process makes it or first finds it on disk; every transaction
begins by taking in the rows and expunges other processes recorded since our
HIGHESTMODSEQ (`_read_back`), so all processes give a message the same modseq and a
folder the same HIGHESTMODSEQ (issue #20: several nodes on one volume need it too).
"""

from __future__ import annotations

import contextlib
import os
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailroom.store.errors import FolderError
from mailroom.store.events import DiskStamp
from mailroom.store.flags import FlagDecoder
from mailroom.store.folder_uids import FolderUids
from mailroom.store.index import MailboxIndex
from mailroom.store.index_rows import IndexChange, IndexRow
from mailroom.store.keywords import Keywords, KeywordsError, read_keywords
from mailroom.store.snapshot import MessageInfo, Snapshot


class FolderMemory:
    """One folder's state in memory: the index, the keywords, the snapshot, the history."""

    def __init__(self, path: Path, *, lock_wait: float) -> None:
        self.path = path
        self.lock_wait = lock_wait
        self.uids = FolderUids(path, lock_wait=lock_wait)
        self.index: MailboxIndex | None = None
        self.snapshot = Snapshot((), array("I"), 0, 1, 0, ())
        self.history_start = 0
        self.first_recent_uid = 0
        """Messages from this UID on are \\Recent, for the next session to claim them
        (as in Dovecot's index; those in new/ are too). 0: not read yet."""
        self.expunged_modseqs: array[int] = array("Q")
        self.expunged_uids: array[int] = array("I")
        self._lock = threading.Lock()
        self._decoder = FlagDecoder(Keywords())
        self._keywords_stamp: tuple[int, int] | None = None
        self._stamp: DiskStamp | None = None
        self._suspect = True
        self._names: tuple[Snapshot, set[str], set[str]] | None = None
        """The file names in cur/ and in new/ of one snapshot (_same_files)."""

    def close(self) -> None:
        with self._lock:
            if self.index is not None:
                self.index.close()
                self.index = None

    def writes_pending(self) -> bool:
        """Whether the index has writes queued (MailboxIndex.flush)."""
        index = self.index
        return index is not None and index.pending

    def flush_index(self) -> None:
        """Make the index's queued writes. Not under the folder's lock: it runs beside
        the folder's next operation (the index has a lock of its own)."""
        index = self.index
        if index is not None:
            index.flush()

    def _index(self) -> MailboxIndex:
        if self.index is None:
            raise FolderError(f"{self.path}: the mailbox is closed")
        return self.index

    def refresh_keywords(self) -> None:
        """Re-read `dovecot-keywords` (after adding to it from outside this object)."""
        with self._lock:
            self._load_keywords(force=True)

    def _load_keywords(self, *, force: bool = False) -> bool:
        """Re-read `dovecot-keywords` if it changed; whether the mapping changed."""
        try:
            info = os.stat(self.path / "dovecot-keywords")
            stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._keywords_stamp and not force:
            return False
        self._keywords_stamp = stamp
        try:
            mapping = read_keywords(self.path)
        except KeywordsError:
            mapping = Keywords()
        if mapping == self._decoder.mapping:
            return False
        self._decoder = FlagDecoder(mapping)
        return True

    def _next_modseq(self, change: IndexChange | None = None) -> int:
        """The modseq for the next change: above ours and above what the index has
        committed (read in `change`, whose write lock keeps it ours to give)."""
        if change is not None:
            recorded = change.highestmodseq
        else:
            recorded = self.index.highestmodseq if self.index is not None else 0
        return max(self.snapshot.highestmodseq, recorded) + 1

    def _read_back(self, change: IndexChange) -> bool:
        """Take in the rows and expunges the index has above our HIGHESTMODSEQ: changes
        another process made (or found on disk) and numbered; whether there were any.
        Afterwards our HIGHESTMODSEQ is the index's: every change up to it is in the
        snapshot, with the modseq the index gave it."""
        # The rows name keywords by the letters of their file names: one another process
        # has just added to `dovecot-keywords` must be known first, or it would be read
        # as absent (and lost from the file at our next rename of that message).
        if self._load_keywords():
            # Published now, so that the new keyword's name is in the folder's FLAGS
            # even when its rows come later (the next look at the files no longer sees
            # the mapping change).
            self._publish(self.snapshot.messages, uids=self.snapshot.uids)
        snapshot = self.snapshot
        if not snapshot.uidvalidity and not snapshot.highestmodseq:
            self.history_start = change.history_start  # opening: the index's history
        elif change.uidvalidity != snapshot.uidvalidity and snapshot.uidvalidity:
            # Another process gave the folder a new UIDVALIDITY: start again from the index.
            self._forget(change.uidvalidity, change.history_start)
            snapshot = self.snapshot
        if change.highestmodseq <= snapshot.highestmodseq:
            return False
        rows, expunged = change.since(snapshot.highestmodseq)
        gone = {uid for _, uid in expunged}
        messages = list(snapshot.messages)
        uids = snapshot.uids
        added: list[MessageInfo] = []
        for row in rows:
            if row.uid in gone:
                continue
            position = bisect_left(uids, row.uid)
            if position < len(uids) and uids[position] == row.uid:
                messages[position] = self._from_row(row)
            else:
                added.append(self._from_row(row))
        if gone:
            messages = [m for m in messages if m.uid not in gone]
        if added:
            messages += added
            messages.sort(key=lambda m: m.uid)
        for modseq, uid in expunged:
            self._record_expunges((uid,), modseq)
        self._publish(
            tuple(messages),
            uidvalidity=change.uidvalidity or None,
            highestmodseq=change.highestmodseq,
            uids=None if gone or added else uids,
        )
        return bool(rows or expunged)

    def _forget(self, uidvalidity: int, history_start: int) -> None:
        """Drop every message and the expunge history: the UIDs are new."""
        self.first_recent_uid = 0  # unknown until _refresh_recent
        self.history_start = history_start
        self.expunged_modseqs = array("Q")
        self.expunged_uids = array("I")
        self.snapshot = Snapshot((), array("I"), uidvalidity, 1, 0, ())
        self._publish(())

    def _publish(
        self,
        messages: tuple[MessageInfo, ...],
        *,
        uidvalidity: int | None = None,
        highestmodseq: int | None = None,
        uidnext: int | None = None,
        uids: array[int] | None = None,
    ) -> None:
        """Replace the snapshot; `uids` when the caller knows the UIDs did not change."""
        old = self.snapshot
        top = messages[-1].uid + 1 if messages else 1
        self.snapshot = Snapshot(
            messages=messages,
            uids=array("I", [m.uid for m in messages]) if uids is None else uids,
            uidvalidity=old.uidvalidity if uidvalidity is None else uidvalidity,
            uidnext=max(top, old.uidnext if uidnext is None else uidnext),
            highestmodseq=old.highestmodseq if highestmodseq is None else highestmodseq,
            keywords=tuple(name for _, name in self._decoder.mapping.by_index),
        )

    def _replace(
        self,
        change: IndexChange,
        updated: list[tuple[int, MessageInfo]],
        highestmodseq: int | None,
    ) -> None:
        """Publish the snapshot with the messages at these positions replaced (same UIDs,
        new file names, flags or modseqs), and write their changes in `change`."""
        if not updated:
            return
        change.write(
            renamed=[(m.file_name, m.recent, m.info, m.modseq, m.uid) for _, m in updated],
            highestmodseq=self.snapshot.highestmodseq if highestmodseq is None else highestmodseq,
        )
        snapshot = self.snapshot
        messages = list(snapshot.messages)
        names = self._names if self._names is not None and self._names[0] is snapshot else None
        if names is not None:
            # The next sync compares the folder with these: change them, not rebuild them.
            cur, new = set(names[1]), set(names[2])
            for position, message in updated:
                old = messages[position]
                (new if old.recent else cur).discard(old.file_name)
                (new if message.recent else cur).add(message.file_name)
                messages[position] = message
        else:
            for position, message in updated:
                messages[position] = message
        self._publish(tuple(messages), highestmodseq=highestmodseq, uids=snapshot.uids)
        if names is not None:
            self._names = (self.snapshot, cur, new)

    def _record_expunges(self, uids: Iterable[int], modseq: int) -> None:
        for uid in uids:
            self.expunged_modseqs.append(modseq)
            self.expunged_uids.append(uid)

    def _from_row(self, row: IndexRow) -> MessageInfo:
        return MessageInfo(
            uid=row.uid,
            flags=self._decoder.flags(row.info),
            modseq=row.modseq,
            size=row.size,
            internaldate=datetime.fromtimestamp(row.internaldate, UTC),
            recent=row.recent,
            base_name=row.base,
            file_name=row.file,
            info=row.info,
            stored_size=row.stored_size,
            folder=self.path,
        )

    @contextlib.contextmanager
    def locked_index(self) -> Iterator[MailboxIndex]:
        """The index, for the caller alone while the block runs (message_reading.py)."""
        with self._lock:
            yield self._index()


def index_row(message: MessageInfo) -> IndexRow:
    """The index row of a message."""
    return IndexRow(
        uid=message.uid,
        base=message.base_name,
        file=message.file_name,
        recent=message.recent,
        info=message.info,
        modseq=message.modseq,
        stored_size=message.stored_size,
        size=message.size,
        internaldate=int(message.internaldate.timestamp()),
    )
