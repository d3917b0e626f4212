"""One folder's messages as files on disk and rows in its index, kept in step.

`FolderState` is the blocking half of a `Mailbox` (mailbox.py): every method runs in
a worker thread, one at a time per folder. It is built in three floors, each a
module of one idea: what it holds in memory and publishes as a snapshot
(folder_memory.py), syncing that with the directory (folder_sync.py), and, here,
the changes this process makes: flags (a rename of the file), \\Recent claimed
(the first recent UID moved on, new/ to cur/), new messages numbered (the files
themselves are written by writing.py, the one write path), expunges. The file work
of the changes is file_changes.py's; this module keeps the UIDs, modseqs, index and
snapshot in step.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from mailroom.durable import fsync_directory
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
    file_name,
)
from mailroom.store.flags import split_flags
from mailroom.store.folder_memory import index_row
from mailroom.store.folder_sync import FolderSync
from mailroom.store.index_rows import IndexChange
from mailroom.store.keywords import add_keywords
from mailroom.store.snapshot import MessageInfo


class FolderState(FolderSync):
    """The blocking side of one folder: disk, `dovecot-uidlist` and the index."""

    def pop3_uidls(self) -> dict[int, str]:
        """The POP3 UIDLs `dovecot-uidlist` holds, by UID (FolderUids.pop3_uidls)."""
        with self._lock:
            return self.uids.pop3_uidls()

    def recent_uids(self, first: int, last: int) -> list[int]:
        """The UIDs from `first` to `last` that are \\Recent and claimed by no session: at
        or above the first recent UID, or still in new/. Claims nothing (EXAMINE,
        STATUS: Dovecot shows them there and leaves them to the next SELECT)."""
        with self._lock:
            self._refresh_recent()
            low, high = self._between(first, last)
            return self._recent_among(low, high, self.first_recent_uid, None)

    def claim_recent(self, first: int, last: int) -> list[int]:
        """Claim the recent messages from `first` to `last`, as Dovecot's SELECT does: the
        first recent UID moves past `last` (in the index, where every process sees it)
        and files in new/ move to cur/. Their UIDs: \\Recent for the caller alone
        (RFC 3501 §2.3.2), since only one caller gets each."""
        with self._lock:
            if not self.first_recent_uid:
                self._refresh_recent()
            low, high = self._between(first, last)
            messages = self.snapshot.messages
            in_new = [(k, messages[k]) for k in range(low, high) if messages[k].recent]
            if not in_new and (low == high or messages[high - 1].uid < self.first_recent_uid):
                return []  # nothing left to claim, as far as this process knows
            with self._own_change(), self._index().change() as change:
                start = change.claim_recent(last + 1)
                self.first_recent_uid = max(start, last + 1)
                moved = self._move_to_cur(change, in_new)
            return self._recent_among(low, high, start, moved)

    def _between(self, first: int, last: int) -> tuple[int, int]:
        """The positions of the messages with UIDs from `first` to `last` (a slice)."""
        uids = self.snapshot.uids
        return bisect_left(uids, first), bisect_right(uids, last)

    def _recent_among(self, low: int, high: int, start: int, moved: set[int] | None) -> list[int]:
        """The UIDs at positions `low` to `high` that are `start` or above, or below it
        and `moved` to cur/ (None: still in new/); ascending."""
        snapshot = self.snapshot
        above = max(low, bisect_left(snapshot.uids, start))
        if moved is None:
            below = [m.uid for m in snapshot.messages[low:above] if m.recent]
        else:
            below = [uid for uid in snapshot.uids[low:above] if uid in moved]
        return below + snapshot.uids[above:high].tolist()

    def _move_to_cur(self, change: IndexChange, in_new: list[tuple[int, MessageInfo]]) -> set[int]:
        """Move these messages' files from new/ to cur/; the UIDs of those moved (another
        process, a Dovecot, may have moved some first: those are not ours)."""
        if not in_new:
            return set()
        updated: list[tuple[int, MessageInfo]] = []
        try:
            new = os.open(os.path.join(self.path, "new"), DIRECTORY_FLAGS)
        except FileNotFoundError:
            return set()  # the folder is gone: the next sync says so
        try:
            cur = os.open(os.path.join(self.path, "cur"), DIRECTORY_FLAGS)
            try:
                for position, message in in_new:
                    name = message.file_name
                    if INFO_SEPARATOR not in name:
                        name += INFO_SEPARATOR
                    try:
                        os.rename(message.file_name, name, src_dir_fd=new, dst_dir_fd=cur)
                    except FileNotFoundError:
                        continue
                    updated.append((position, message._replace(file_name=name, recent=False)))
            finally:
                os.close(cur)
        finally:
            os.close(new)
        self._replace(change, updated, None)
        return {message.uid for _, message in updated}

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
            with self._index().change() as change:
                # Other processes' changes first: their renames are then no surprise.
                self._read_back(change)
                for attempt in range(2):
                    modseq = self._next_modseq(change)
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
                    self._replace(change, updated, modseq if updated else None)
                    changed += updated
                    if not retry or attempt:
                        break
                    # Renamed by something that records no modseq (Dovecot): find the
                    # new names, then try again.
                    self._synced(change, disk_stamp(self.path), force=True)
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
            with self._index().change() as change:
                return self._added(change, files, dates, uids, uidvalidity)

    def _assign(self, files: list[NewFile]) -> tuple[list[int], int]:
        """UIDs for the new base names, in order, under the uidlist lock; and UIDVALIDITY."""
        uidlist = self.uids.number_new(item.base for item in files)
        found = [uidlist.uid_of(item.base) for item in files]
        return [0 if uid is None else uid for uid in found], uidlist.uidvalidity

    def _added(
        self,
        change: IndexChange,
        files: list[NewFile],
        dates: list[int],
        uids: list[int],
        uidvalidity: int,
    ) -> list[MessageInfo]:
        self._read_back(change)
        if uidvalidity != self.snapshot.uidvalidity:
            self._synced(change, disk_stamp(self.path), force=True)
            return [m for m in (self.snapshot.find(uid) for uid in uids) if m is not None]
        modseq = self._next_modseq(change)
        added = []
        known: list[MessageInfo] = []
        """Recorded already by another process's sync, which found the files first."""
        flags_of = self._decoder.flags
        find = self.snapshot.find
        for item, date, uid in zip(files, dates, uids, strict=True):
            if not uid:
                continue
            found = find(uid)
            if found is not None:
                known.append(found)
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
        snapshot = self.snapshot
        uidnext = max(uids, default=0) + 1
        if not added:
            self._publish(snapshot.messages, uidnext=uidnext)
            return sorted(known, key=lambda m: m.uid)
        change.write(upsert=[index_row(m) for m in added], highestmodseq=modseq)
        added.sort(key=lambda m: m.uid)
        if not snapshot.uids or added[0].uid > snapshot.uids[-1]:
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
            present = set(snapshot.uids)
            messages = list(snapshot.messages) + [m for m in added if m.uid not in present]
            messages.sort(key=lambda m: m.uid)
            self._publish(tuple(messages), highestmodseq=modseq, uidnext=uidnext)
        if known:
            return sorted(added + known, key=lambda m: m.uid)
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
            with self._index().change() as change:
                self._read_back(change)
                removed = self._expunged(change, uids, deleted_only, moved)
            if not deleted_only:
                # POP3's QUIT (and a MOVE that had to copy): what the client was told is
                # gone stays gone after a crash. IMAP's EXPUNGE is not fsynced, as in
                # Dovecot's maildir: an unlink lost in a crash brings back a message
                # still flagged \\Deleted, which the next EXPUNGE removes, and the
                # directory fsync (a journal commit, behind every other process's
                # fsyncs) was most of an EXPUNGE's time under load. A MOVE's renames
                # are durable once their target directory is (the MOVE did that).
                for directory in {
                    "new" if m.recent else "cur" for m in removed if m.uid not in moved
                }:
                    fsync_directory(self.path / directory)
            return removed

    def _expunged(
        self,
        change: IndexChange,
        uids: Collection[int] | None,
        deleted_only: bool,
        moved: Collection[int],
    ) -> list[MessageInfo]:
        """`expunge`'s work, inside `change`; the messages removed."""
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
            # Renamed (flags) or expunged by something that records no modseq (Dovecot).
            self._synced(change, disk_stamp(self.path), force=True)
            for uid in retry:
                found = self.snapshot.find(uid)
                if found is None:
                    continue
                try:
                    os.unlink(found.file_path)
                    removed.append(found)
                except FileNotFoundError:
                    continue
        removed += moved_away
        if not removed:
            return []
        modseq = self._next_modseq(change)
        gone = sorted(m.uid for m in removed)
        change.write(expunge=gone, highestmodseq=modseq, expunge_modseq=modseq)
        self._record_expunges(gone, modseq)
        drop = set(gone)
        kept = tuple(m for m in self.snapshot.messages if m.uid not in drop)
        self._publish(kept, highestmodseq=modseq)
        return sorted(removed, key=lambda m: m.uid)
