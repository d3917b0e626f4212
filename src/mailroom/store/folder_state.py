"""One folder's messages as files on disk and rows in its index, kept in step.

`FolderState` is the blocking half of a `Mailbox` (mailbox.py): every
method runs in a worker thread, one at a time per folder (a threading.Lock,
so that a cancelled caller can never let two threads into the index). It
publishes what it knows as an immutable `Snapshot` (messages sorted by UID,
an array of UIDs for O(log n) lookup, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ):
one attribute assignment replaces it, so readers on the event loop see the
old state or the new one, never half of each, and take no lock.

Syncing (Dovecot's maildir-sync, simplified): a few `stat()` calls tell
whether new/, cur/, `dovecot-uidlist` or `dovecot-keywords` changed since
the last look. If not, nothing is read. If so, new/ and cur/ are listed
once and compared with the snapshot by UID in one pass: files without a
UID get one (folder.py, under the uidlist lock), new files are stat()ed
once for their internal date (the mtime, as Dovecot does) and, when the
name has no `,S=`/`,W=`, their sizes; a changed flag letter string gets a
new modseq; a file no longer found is an expunge, recorded with its modseq
for QRESYNC. A directory whose mtime is within two seconds of the listing
(a tenth of a second where file times have sub-second parts)
is looked at again next time, because a change in the same clock tick
would leave its mtime as it was.

Modseqs (RFC 7162): each operation (a sync that found changes, a STORE, an
APPEND, an EXPUNGE) takes HIGHESTMODSEQ + 1 for everything it changed.
Moving a file from new/ to cur/ changes no flag and so no modseq.

The file work of the changes (renames for flags, new files placed, unlinks) is
file_changes.py's; this module keeps the UIDs, modseqs, index and snapshot in step.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from array import array
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailroom.durable import fsync_directory
from mailroom.store.errors import FolderError
from mailroom.store.events import DiskStamp, disk_stamp
from mailroom.store.file_changes import (
    DIRECTORY_FLAGS,
    FlagMode,
    NewFile,
    positions_of,
    rename_for_flags,
    unlink_messages,
)
from mailroom.store.filename import (
    INFO_SEPARATOR,
    SIZE_FIELD,
    VIRTUAL_SIZE_FIELD,
    file_name,
    info_of,
)
from mailroom.store.flags import FlagDecoder, split_flags
from mailroom.store.folder_uids import FolderUids
from mailroom.store.index import IndexRow, MailboxIndex, clock_modseq
from mailroom.store.keywords import Keywords, KeywordsError, add_keywords, read_keywords
from mailroom.store.snapshot import MessageInfo, Snapshot, virtual_size
from mailroom.store.uidlist import UidList

SUSPECT_SECONDS = 2.0
"""A directory changed this recently may change again within the same mtime tick, on a
file system whose times have whole seconds (Dovecot waits as long)."""
SUSPECT_SECONDS_FINE = 0.1
"""The same where times have sub-second parts: the kernel's file-time clock ticks every
few milliseconds (jiffies), so a change this much later always shows a new mtime."""


class FolderState:
    """The blocking side of one folder: disk, `dovecot-uidlist` and the index."""

    def __init__(self, path: Path, *, lock_wait: float) -> None:
        self.path = path
        self.lock_wait = lock_wait
        self.uids = FolderUids(path, lock_wait=lock_wait)
        self.index: MailboxIndex | None = None
        self.snapshot = Snapshot((), array("I"), 0, 1, 0, ())
        self.history_start = 0
        self.expunged_modseqs: array[int] = array("Q")
        self.expunged_uids: array[int] = array("I")
        self._lock = threading.Lock()
        self._decoder = FlagDecoder(Keywords())
        self._keywords_stamp: tuple[int, int] | None = None
        self._stamp: DiskStamp | None = None
        self._suspect = True
        self._names: tuple[Snapshot, set[str], set[str]] | None = None
        """The file names in cur/ and in new/ of one snapshot (_same_files)."""

    # -- opening and closing --

    def open(self) -> None:
        with self._lock:
            self.index = MailboxIndex(self.path)
            self._load_keywords()
            rows = self.index.rows()
            messages = tuple(self._from_row(row) for row in rows)
            self._publish(
                messages,
                uidvalidity=self.index.uidvalidity,
                highestmodseq=self.index.highestmodseq,
                uidnext=max((m.uid for m in messages[-1:]), default=0) + 1,
            )
            self.history_start = self.index.history_start
            for modseq, uid in self.index.expunged():
                self.expunged_modseqs.append(modseq)
                self.expunged_uids.append(uid)
            self._sync(force=True)

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

    # -- syncing with the disk --

    def sync(self, *, force: bool = False) -> bool:
        with self._lock:
            return self._sync(force=force)

    def _sync(self, *, force: bool) -> bool:
        stamp = disk_stamp(self.path)
        if not force and stamp == self._stamp and not (self._suspect and _settled(stamp)):
            # Nothing changed; or the last change is so recent that a look now could
            # still miss one made in the same clock tick: the first sync after that
            # window looks (below), and its look is conclusive.
            return False
        if not force and self._same_files(stamp):
            # Only our own renames and unlinks since the last look (the usual case
            # right after a STORE or EXPUNGE): nothing to reconcile.
            self._stamp = stamp
            self._suspect = _recent(stamp, time.time())
            return False
        if not (self.path / "cur").is_dir():
            return self._vanished()
        started = time.time()
        files = self.uids.list_files()
        uidlist = self.uids.read()
        if uidlist is None or any(uidlist.uid_of(base) is None for base in files):
            uidlist = self.uids.number_all()
            files = self.uids.list_files()
        keywords_changed = self._load_keywords()
        snapshot = self.snapshot
        if uidlist.uidvalidity != snapshot.uidvalidity:
            self._reset(uidlist.uidvalidity)
            snapshot = self.snapshot
        if any(m.base_name not in files for m in snapshot.messages):
            # A rename in cur/ during readdir() may hide a file: look twice before expunging.
            files.update(self.uids.list_files())
        modseq = self._next_modseq()
        old = {m.uid: m for m in snapshot.messages}
        messages: list[MessageInfo] = []
        rows: list[MessageInfo] = []
        flags_changed = False
        for base, (directory, name) in files.items():
            record = uidlist.record_of(base)
            if record is None:
                continue  # arrived after the uidlist was written: numbered next time
            recent = directory == "new"
            previous = old.pop(record.uid, None)
            if previous is not None and previous.base_name == base:
                if previous.file_name == name and previous.recent == recent:
                    if keywords_changed:
                        previous = previous._replace(flags=self._decoder.flags(previous.info))
                    messages.append(previous)
                    continue
                info = info_of(name)
                flags = self._decoder.flags(info)
                changed = flags != previous.flags
                flags_changed |= changed
                message = previous._replace(
                    flags=flags,
                    info=info,
                    file_name=name,
                    recent=recent,
                    modseq=modseq if changed else previous.modseq,
                )
            else:
                if previous is not None:
                    old[previous.uid] = previous  # an impossible reuse: expunge the old one
                found = self._new_message(record.uid, base, directory, name, modseq, uidlist)
                if found is None:
                    continue
                message = found
                flags_changed = True
            messages.append(message)
            rows.append(message)
        gone = sorted(old)
        self._stamp = stamp
        self._suspect = _recent(stamp, started)
        uidnext = max(uidlist.next_uid, snapshot.uidnext)
        if not rows and not gone:
            if uidnext != snapshot.uidnext or keywords_changed:
                self._publish(
                    tuple(messages) if keywords_changed else snapshot.messages, uidnext=uidnext
                )
            return keywords_changed
        highest = modseq if flags_changed or gone else snapshot.highestmodseq
        self._index().apply(
            upsert=[_row(m) for m in rows],
            expunge=gone,
            highestmodseq=highest,
            expunge_modseq=modseq,
        )
        self._record_expunges(gone, modseq)
        messages.sort(key=lambda m: m.uid)
        self._publish(tuple(messages), highestmodseq=highest, uidnext=uidnext)
        return True

    def _same_files(self, stamp: DiskStamp) -> bool:
        """Whether new/ and cur/ hold exactly the files the snapshot names, with
        `dovecot-keywords` untouched and `dovecot-uidlist` as we last read or wrote it:
        then the snapshot is right (a file name carries the message's flags)."""
        if self._stamp is None or stamp[3] != self._stamp[3]:
            return False
        if stamp[2] != self._stamp[2]:
            # Changed by our own add_files(), which kept what it wrote (_assign)?
            mtime_ns, inode, size = stamp[2]
            if not self.uids.is_kept((mtime_ns, size, inode)):
                return False
        try:
            cur = set(os.listdir(os.path.join(self.path, "cur")))
            new = set(os.listdir(os.path.join(self.path, "new")))
        except FileNotFoundError:
            return False
        snapshot = self.snapshot
        if len(cur) + len(new) != len(snapshot.messages):
            return False
        if self._names is None or self._names[0] is not snapshot:
            # Kept until the snapshot changes: syncs often come several to a snapshot.
            self._names = (
                snapshot,
                {m.file_name for m in snapshot.messages if not m.recent},
                {m.file_name for m in snapshot.messages if m.recent},
            )
        return cur == self._names[1] and new == self._names[2]

    @contextlib.contextmanager
    def _own_change(self, before: DiskStamp | None = None) -> Iterator[None]:
        """Around this object's own renames, links and unlinks (with the lock held).

        When the folder was as the last look saw it (`before`, taken now unless
        given), its stamp afterwards is that of our own changes, which the snapshot
        already has: the next sync need not list the folder to learn them. It stays
        suspect, so that the first sync once the clock has moved on lists it after
        all, and finds any change another process made in the same tick.
        """
        if before is None:
            before = disk_stamp(self.path)
        yield
        if before == self._stamp:
            self._stamp = disk_stamp(self.path)
            self._suspect = True

    def _next_modseq(self) -> int:
        """The modseq for the next change: above ours and above what the index has seen.

        Another process of ours may share the index; taking the larger keeps
        HIGHESTMODSEQ rising for both.
        """
        recorded = self.index.highestmodseq if self.index is not None else 0
        return max(self.snapshot.highestmodseq, recorded) + 1

    def _vanished(self) -> bool:
        """The folder was deleted or renamed away: every message is gone."""
        if not self.snapshot.messages:
            return False
        modseq = self._next_modseq()
        gone = [m.uid for m in self.snapshot.messages]
        self._record_expunges(gone, modseq)
        self._publish((), highestmodseq=modseq)
        return True

    def _reset(self, uidvalidity: int) -> None:
        """A new UIDVALIDITY (or a new index): forget all messages, keep modseqs rising."""
        seed = max(clock_modseq(), self._next_modseq())
        self._index().reset(uidvalidity, seed)
        self.history_start = seed
        self.expunged_modseqs = array("Q")
        self.expunged_uids = array("I")
        self._publish((), uidvalidity=uidvalidity, highestmodseq=seed, uidnext=1)

    def _new_message(
        self, uid: int, base: str, directory: str, name: str, modseq: int, uidlist: UidList
    ) -> MessageInfo | None:
        path = self.path / directory / name
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None  # renamed or expunged meanwhile; the next sync sees where it went
        size_match = SIZE_FIELD.search(base)
        stored = int(size_match.group(1)) if size_match else info.st_size
        vsize_match = VIRTUAL_SIZE_FIELD.search(base)
        vsize_text = uidlist.record_of(base)
        w = vsize_text.extension("W") if vsize_text is not None else None
        if vsize_match:
            size = int(vsize_match.group(1))
        elif w is not None and w.isascii() and w.isdigit():
            size = int(w)
        else:
            try:
                size = virtual_size(path.read_bytes())
            except FileNotFoundError:
                return None
        letters = info_of(name)
        return MessageInfo(
            uid=uid,
            flags=self._decoder.flags(letters),
            modseq=modseq,
            size=size,
            internaldate=datetime.fromtimestamp(int(info.st_mtime), UTC),
            recent=directory == "new",
            base_name=base,
            file_name=name,
            info=letters,
            stored_size=stored,
            folder=self.path,
        )

    def pop3_uidls(self) -> dict[int, str]:
        """The POP3 UIDLs `dovecot-uidlist` holds, by UID (FolderUids.pop3_uidls)."""
        with self._lock:
            return self.uids.pop3_uidls()

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

    # -- publishing --

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

    # -- changes --

    def claim_recent(self) -> list[int]:
        """Move new/ files to cur/; their UIDs (only one caller gets each, as in Dovecot)."""
        with self._lock, self._own_change():
            updated: list[tuple[int, MessageInfo]] = []
            recent = [(k, m) for k, m in enumerate(self.snapshot.messages) if m.recent]
            if not recent:
                return []
            try:
                new = os.open(os.path.join(self.path, "new"), DIRECTORY_FLAGS)
            except FileNotFoundError:
                return []  # the folder is gone: the next sync says so
            try:
                cur = os.open(os.path.join(self.path, "cur"), DIRECTORY_FLAGS)
                try:
                    for position, message in recent:
                        name = message.file_name
                        if INFO_SEPARATOR not in name:
                            name += INFO_SEPARATOR
                        try:
                            os.rename(message.file_name, name, src_dir_fd=new, dst_dir_fd=cur)
                        except FileNotFoundError:
                            continue  # another process (a Dovecot) claimed it
                        updated.append((position, message._replace(file_name=name, recent=False)))
                finally:
                    os.close(cur)
            finally:
                os.close(new)
            self._replace(updated, None)
            return [message.uid for _, message in updated]

    def store_flags(
        self,
        uids: Iterable[int],
        mode: FlagMode,
        flags: Iterable[str],
        unchangedsince: int | None,
    ) -> tuple[list[MessageInfo], list[int]]:
        system, keywords = split_flags(flags)
        pending = sorted(set(uids))
        with self._lock, self._own_change():
            if keywords and mode != "remove":
                add_keywords(self.path, keywords, wait=self.lock_wait)
                self._load_keywords(force=True)
            changed: list[tuple[int, MessageInfo]] = []
            failed: list[int] = []
            for attempt in range(2):
                modseq = self._next_modseq()
                updated, retry = rename_for_flags(
                    self.path,
                    self.snapshot.messages,
                    self._decoder,
                    positions_of(self.snapshot.uids, pending),
                    mode,
                    system,
                    keywords,
                    unchangedsince,
                    modseq,
                    failed,
                )
                self._replace(updated, modseq if updated else None)
                changed += updated
                if not retry or attempt:
                    break
                # Renamed by another process meanwhile: find the new names, then try again.
                self._sync(force=True)
                pending = retry
            messages = [message for _, message in changed]
            if len(changed) > len(updated):
                messages.sort(key=lambda m: m.uid)  # the retried ones come last
            return messages, failed

    def add_placed(
        self, files: list[NewFile], dates: list[int], before: DiskStamp | None
    ) -> list[MessageInfo]:
        """Give UIDs to files just put into new/ or cur/ (writing.py), with their dates,
        in order; their infos, in order. `before`: the folder's stamp before they were
        put there, when nothing else of ours changed the folder since."""
        with self._lock, self._own_change(before):
            uids, uidvalidity = self._assign(files)
            return self._added(files, dates, uids, uidvalidity)

    def _assign(self, files: list[NewFile]) -> tuple[list[int], int]:
        """UIDs for the new base names, in order, under the uidlist lock; and UIDVALIDITY."""
        uidlist = self.uids.number_new(item.base for item in files)
        found = [uidlist.uid_of(item.base) for item in files]
        return [0 if uid is None else uid for uid in found], uidlist.uidvalidity

    def _added(
        self, files: list[NewFile], dates: list[int], uids: list[int], uidvalidity: int
    ) -> list[MessageInfo]:
        if uidvalidity != self.snapshot.uidvalidity:
            self._sync(force=True)
            return [m for m in (self.snapshot.find(uid) for uid in uids) if m is not None]
        modseq = self._next_modseq()
        added = []
        flags_of = self._decoder.flags
        for item, date, uid in zip(files, dates, uids, strict=True):
            if not uid:
                continue
            recent = item.info is None
            info = item.info or ""
            added.append(
                MessageInfo(
                    uid,
                    flags_of(info),
                    modseq,
                    item.size,
                    datetime.fromtimestamp(date, UTC),
                    recent,
                    item.base,
                    file_name(item.base, None if recent else info),
                    info,
                    item.stored_size,
                    self.path,
                )
            )
        self._index().apply(upsert=[_row(m) for m in added], highestmodseq=modseq, later=True)
        snapshot = self.snapshot
        uidnext = max(uids, default=0) + 1
        added.sort(key=lambda m: m.uid)
        if not added:
            self._publish(snapshot.messages, highestmodseq=modseq, uidnext=uidnext)
        elif not snapshot.uids or added[0].uid > snapshot.uids[-1]:
            # The usual case: the new UIDs all come after the known ones.
            uids_now = array("I", snapshot.uids)
            uids_now.extend(m.uid for m in added)
            self._publish(
                snapshot.messages + tuple(added),
                highestmodseq=modseq,
                uidnext=uidnext,
                uids=uids_now,
            )
        else:
            known = set(snapshot.uids)
            messages = list(snapshot.messages) + [m for m in added if m.uid not in known]
            messages.sort(key=lambda m: m.uid)
            self._publish(tuple(messages), highestmodseq=modseq, uidnext=uidnext)
        return added

    def expunge(
        self,
        uids: Collection[int] | None,
        deleted_only: bool,
        moved: Collection[int] = (),
    ) -> list[MessageInfo]:
        """Delete messages (those flagged \\Deleted, if `deleted_only`); the ones removed.
        The files of `moved` were renamed into another folder (a MOVE): they are only
        recorded as gone."""
        with self._lock, self._own_change():
            wanted = [
                m
                for m in self.snapshot.messages
                if (uids is None or m.uid in uids) and (not deleted_only or "\\Deleted" in m.flags)
            ]
            moved_away = [m for m in wanted if m.uid in moved] if moved else []
            if moved_away:
                wanted = [m for m in wanted if m.uid not in moved]
            removed, retry = unlink_messages(self.path, wanted)
            if retry:
                self._sync(force=True)  # renamed (flags) or expunged by another process
                for uid in retry:
                    found = self.snapshot.find(uid)
                    if found is None:
                        continue
                    try:
                        os.unlink(found.file_path)
                        removed.append(found)
                    except FileNotFoundError:
                        continue
            # A rename is durable once its target directory is (the MOVE did that).
            for directory in {"new" if m.recent else "cur" for m in removed}:
                fsync_directory(self.path / directory)
            removed += moved_away
            if not removed:
                return []
            modseq = self._next_modseq()
            gone = sorted(m.uid for m in removed)
            self._index().apply(
                expunge=gone, highestmodseq=modseq, expunge_modseq=modseq, later=True
            )
            self._record_expunges(gone, modseq)
            drop = set(gone)
            kept = tuple(m for m in self.snapshot.messages if m.uid not in drop)
            self._publish(kept, highestmodseq=modseq)
            return sorted(removed, key=lambda m: m.uid)

    # -- reading --

    @contextlib.contextmanager
    def locked_index(self) -> Iterator[MailboxIndex]:
        """The index, for the caller alone while the block runs (message_reading.py)."""
        with self._lock:
            yield self._index()


def _row(message: MessageInfo) -> IndexRow:
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


def _settled(stamp: DiskStamp) -> bool:
    """Whether every directory of `stamp` last changed long enough ago that a look now
    sees every change of the same clock tick."""
    return not _recent(stamp, time.time())


def _recent(stamp: DiskStamp, now: float) -> bool:
    """Whether a directory in `stamp` changed within SUSPECT_SECONDS of `now`: a later
    change in the same mtime tick would not show in its stamp, so look again next time."""
    for mtime_ns, _, _ in stamp:
        # A whole second (or a missing file's 0) is read as coarse: the longer wait.
        window = SUSPECT_SECONDS if mtime_ns % 1_000_000_000 == 0 else SUSPECT_SECONDS_FINE
        if now - mtime_ns / 1e9 < window:
            return True
    return False
