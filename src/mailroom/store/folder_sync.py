"""Syncing one folder's state with its directory: what other processes changed.

Dovecot's maildir-sync, simplified: a few `stat()` calls tell whether new/, cur/,
`dovecot-uidlist` or `dovecot-keywords` changed since the last look. If not, nothing
is read. If so, new/ and cur/ are listed once and compared with the snapshot by UID
in one pass: files without a UID get one (folder_uids.py, under the uidlist lock),
new files are stat()ed once for their internal date (the mtime, as Dovecot does)
and, when the name has no `,S=`/`,W=` (filename.py), their sizes; a changed flag
letter string gets a new modseq; a file no longer found is an expunge, recorded with
its modseq for QRESYNC. A directory whose mtime is within two seconds of the listing
(a tenth of a second where file times have sub-second parts) is looked at again next
time, because a change in the same clock tick would leave its mtime as it was.

Our own changes (folder_state.py) are recognised (`_own_change`), so the sync after
them reads nothing again. Moving a file from new/ to cur/ changes no flag and so no
modseq.

Shared modseqs: a sync that finds the folder changed works inside a write transaction
of the index (folder_memory.py): it first takes in what other processes recorded there
(`_read_back`: their changes, with their modseqs), then lists the folder; what still
differs was changed by something that records no modseq (Dovecot, a crash between a
rename and its record) and is numbered here, once, for every process. Every change of
ours renames, links or unlinks inside such a transaction too (folder_state.py), so a
listing made under it never sees a change of ours whose record is not there yet; only
files new to the uidlist may be (writing.py places them first): whoever numbers them
first records them, and the other takes that record (FolderState._added).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from mailroom.store.events import DiskStamp, disk_stamp
from mailroom.store.filename import (
    SIZE_FIELD,
    VIRTUAL_SIZE_FIELD,
    info_of,
)
from mailroom.store.folder_memory import FolderMemory, index_row
from mailroom.store.index import MailboxIndex, clock_modseq
from mailroom.store.index_rows import IndexChange
from mailroom.store.snapshot import MessageInfo, virtual_size
from mailroom.store.uidlist import UidList

SUSPECT_SECONDS = 2.0
"""A directory changed this recently may change again within the same mtime tick, on a
file system whose times have whole seconds (Dovecot waits as long)."""
SUSPECT_SECONDS_FINE = 0.1
"""The same where times have sub-second parts: the kernel's file-time clock ticks every
few milliseconds (jiffies), so a change this much later always shows a new mtime."""


class FolderSync(FolderMemory):
    """A folder's state, kept in step with its directory."""

    def open(self) -> None:
        with self._lock:
            self.index = MailboxIndex(self.path)
            self._load_keywords()
            self._sync(force=True)  # the index's rows first (_read_back), then the disk
            self._refresh_recent()

    def sync(self, *, force: bool = False, recent: bool = False) -> bool:
        """Look at the disk again (`_sync`); with `recent`, read the first recent UID
        again too (`_refresh_recent`: one query, which a session's every command need
        not make: its claims ask the index themselves)."""
        with self._lock:
            changed = self._sync(force=force)
            if recent:
                self._refresh_recent()
            return changed

    def _refresh_recent(self) -> None:
        """Read the first recent UID again: a session of another process may have
        claimed messages since.

        Where the index has none (it is new, or the UIDs are), it starts at the first
        message still in new/, which no session has claimed (Dovecot's SELECT empties
        new/, so what came after it came later too), or else at UIDNEXT: a rebuilt
        index does not make every message recent again."""
        index = self.index
        if index is None:
            return  # closed: nothing to show it to
        first = index.first_recent_uid
        if first is None:
            snapshot = self.snapshot
            unclaimed = next((m.uid for m in snapshot.messages if m.recent), snapshot.uidnext)
            first = index.start_recent(unclaimed)
        self.first_recent_uid = first

    def seems_unchanged(self) -> bool:
        """Whether `sync()` now would find nothing, judged by the same few stat() calls
        and without the lock, so it can run on the event loop: a change being made or
        synced meanwhile shows as a stamp unlike the last one, which sends the caller
        to `sync()` (the usual case under load is no change: then no thread is used)."""
        stamp = disk_stamp(self.path)
        return stamp == self._stamp and not (self._suspect and _settled(stamp))

    def _sync(self, *, force: bool) -> bool:
        stamp = disk_stamp(self.path)
        if not force and stamp == self._stamp and not (self._suspect and _settled(stamp)):
            # Nothing changed; or the last change is so recent that a look now could
            # still miss one made in the same clock tick: the first sync after that
            # window looks (below), and its look is conclusive.
            return False
        if stamp[1] == (0, 0, 0) and self.snapshot.uidvalidity:
            return self._vanished(stamp)  # no cur/: the index went with the folder
        with self._index().change() as change:
            return self._synced(change, stamp, force=force)

    def _synced(self, change: IndexChange, stamp: DiskStamp, *, force: bool) -> bool:
        """`_sync`'s work, inside the index transaction `change`."""
        read = self._read_back(change)
        if not force and self._same_files(stamp):
            # Only our own renames and unlinks since the last look (the usual case
            # right after a STORE or EXPUNGE), or changes read back: nothing to reconcile.
            self._stamp = stamp
            self._suspect = changed_recently(stamp, time.time())
            return read
        return self._compare(change, stamp) or read

    def _compare(self, change: IndexChange, stamp: DiskStamp) -> bool:
        """List the folder and number what differs from the snapshot (in `change`)."""
        if not (self.path / "cur").is_dir():
            return self._vanished(stamp)
        started = time.time()
        files = self.uids.list_files()
        uidlist = self.uids.read()
        if uidlist is None or any(uidlist.uid_of(base) is None for base in files):
            uidlist = self.uids.number_all()
            files = self.uids.list_files()
        keywords_changed = self._load_keywords()
        snapshot = self.snapshot
        if uidlist.uidvalidity != snapshot.uidvalidity:
            self._reset(change, uidlist.uidvalidity)
            snapshot = self.snapshot
        if any(m.base_name not in files for m in snapshot.messages):
            # A rename in cur/ during readdir() may hide a file: look twice before expunging.
            files.update(self.uids.list_files())
        modseq = self._next_modseq(change)
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
        self._suspect = changed_recently(stamp, started)
        uidnext = max(uidlist.next_uid, snapshot.uidnext)
        if not rows and not gone:
            if keywords_changed:
                # In the listing's order: the snapshot's is by UID (a UID search bisects).
                messages.sort(key=lambda m: m.uid)
                self._publish(tuple(messages), uidnext=uidnext)
            elif uidnext != snapshot.uidnext:
                self._publish(snapshot.messages, uidnext=uidnext)
            return keywords_changed
        highest = modseq if flags_changed or gone else snapshot.highestmodseq
        change.write(
            upsert=[index_row(m) for m in rows],
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
            # Changed by our own add_placed(), which kept what it wrote (FolderUids)?
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

    def _vanished(self, stamp: DiskStamp) -> bool:
        """The folder was deleted or renamed away: every message is gone. Reported once
        (an empty folder's too: its sessions must learn it is gone), until it changes."""
        self._stamp = stamp
        self._suspect = False
        if not self.snapshot.messages:
            return True
        modseq = self._next_modseq()
        gone = [m.uid for m in self.snapshot.messages]
        self._record_expunges(gone, modseq)
        self._publish((), highestmodseq=modseq)
        return True

    def _reset(self, change: IndexChange, uidvalidity: int) -> None:
        """A new UIDVALIDITY (or a new index): forget all messages, keep modseqs rising."""
        seed = max(clock_modseq(), self._next_modseq(change))
        change.reset(uidvalidity, seed)
        self._forget(uidvalidity, seed)
        self._publish((), highestmodseq=seed)

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


def _settled(stamp: DiskStamp) -> bool:
    """Whether every directory of `stamp` last changed long enough ago that a look now
    sees every change of the same clock tick."""
    return not changed_recently(stamp, time.time())


def changed_recently(stamp: DiskStamp, now: float) -> bool:
    """Whether a directory in `stamp` changed within SUSPECT_SECONDS of `now`: a later
    change in the same mtime tick would not show in its stamp, so look again next time."""
    for mtime_ns, _, _ in stamp:
        # A whole second (or a missing file's 0) is read as coarse: the longer wait.
        window = SUSPECT_SECONDS if mtime_ns % 1_000_000_000 == 0 else SUSPECT_SECONDS_FINE
        if now - mtime_ns / 1e9 < window:
            return True
    return False
