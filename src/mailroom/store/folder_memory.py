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
an EXPUNGE) takes HIGHESTMODSEQ + 1 for everything it changed (`_next_modseq`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailroom.store.errors import FolderError
from mailroom.store.events import DiskStamp
from mailroom.store.flags import FlagDecoder
from mailroom.store.folder_uids import FolderUids
from mailroom.store.index import IndexRow, MailboxIndex
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

    def _next_modseq(self) -> int:
        """The modseq for the next change: above ours and above what the index has seen.

        Another process of ours may share the index; taking the larger keeps
        HIGHESTMODSEQ rising for both.
        """
        recorded = self.index.highestmodseq if self.index is not None else 0
        return max(self.snapshot.highestmodseq, recorded) + 1

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

    def _replace(self, updated: list[tuple[int, MessageInfo]], highestmodseq: int | None) -> None:
        """Publish the snapshot with the messages at these positions replaced (same UIDs,
        new file names, flags or modseqs), and write their changes to the index."""
        if not updated:
            return
        self._index().apply(
            renamed=[(m.file_name, m.recent, m.info, m.modseq, m.uid) for _, m in updated],
            highestmodseq=self.snapshot.highestmodseq if highestmodseq is None else highestmodseq,
            later=True,
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
