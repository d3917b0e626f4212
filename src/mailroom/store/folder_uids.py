"""A folder's files and their UIDs: new/ and cur/ listed, numbered in `dovecot-uidlist`.

Every file in new/ and cur/ is a message once `dovecot-uidlist` gives its base name
(filename.py) a UID; files that have none get the next ones, under the uidlist's
dotlock, so that Dovecot and Mailroom, taking turns on one Maildir, agree. A UID is
never given twice: the list's next UID never goes down, and records of files that
are gone are dropped when the list is written again. Names that cannot be messages
(dot files, names with a newline, which the uidlist cannot hold) are skipped with a
log line; hostile names never make a listing fail.

The parsed list is kept while the file does not change (10,000 lines take tens of
milliseconds to parse): a sync that finds the folder as it was reads nothing, and
one that finds it grown in place (records appended, by us in another process or by
Dovecot) reads and parses only what was appended; a file replaced (a rewrite is a
rename) or changed any other way is read whole.
Everything here blocks; folder_state.py calls it with the folder's lock held.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from mailroom.store.filename import INFO_START
from mailroom.store.uidlist import (
    FILE_NAME,
    UidList,
    UidListError,
    append_records,
    extend_uidlist,
    parse_uidlist,
    read_uidlist,
    uidlist_lock,
    write_uidlist,
)

log = logging.getLogger(__name__)

UidListKey = tuple[int, int, int]
"""(mtime_ns, size, inode) of `dovecot-uidlist`: what tells one version from another."""


class _Kept(NamedTuple):
    """The parsed list of one version of the file."""

    key: UidListKey
    uidlist: UidList
    through: int
    """How many bytes of the file it was parsed from: whole lines, up to a line end."""


class FolderUids:
    """The files of one folder (INBOX's root or a `.Folder`) and their UIDs."""

    def __init__(self, path: Path, *, lock_wait: float) -> None:
        self.path = path
        self.lock_wait = lock_wait
        self._cache: _Kept | None = None

    def list_files(self) -> dict[str, tuple[str, str]]:
        """base name → (subdirectory, file name) of every message file in new/ and cur/."""
        files: dict[str, tuple[str, str]] = {}
        # new/ first: a file moved to cur/ between the two listings is then seen in cur/.
        for directory in ("new", "cur"):
            try:
                names = os.listdir(self.path / directory)
            except FileNotFoundError:
                continue
            for name in names:
                # filename.is_message_file, written out: this runs for every file.
                base = name.partition(INFO_START)[0]
                if name.startswith(".") or not base or "\n" in name:
                    log.info("%s: skipping %r/%r, not a message file", self.path, directory, name)
                    continue
                files[base] = (directory, name)
        return files

    def number_all(self) -> UidList:
        """Under the uidlist lock: read it again, number new files, drop gone ones, write.
        For a list that is missing or broken (rebuilt, as Dovecot does) or out of date."""
        with uidlist_lock(self.path, wait=self.lock_wait) as lock:
            # Read and list again under the lock: another process may have numbered them.
            uidlist = self._read_logging() or UidList.create()
            files = self.list_files()
            missing = [r.name for r in uidlist.records if r.name not in files]
            if missing:
                # A concurrent rename inside cur/ can hide a file from one readdir();
                # a second listing keeps a live message from losing its UID.
                files.update(self.list_files())
            dropped = uidlist.retain(files.keys())
            added = uidlist.assign(files.keys())
            if added or dropped or not (self.path / FILE_NAME).exists():
                write_uidlist(lock, uidlist)
            return uidlist

    def number_new(self, bases: Iterable[str]) -> UidList:
        """UIDs for these new base names, in order, under the uidlist lock; the list.
        Their records are appended to the file (a rewrite only when it cannot be)."""
        uidlist = None
        try:
            with uidlist_lock(self.path, wait=self.lock_wait) as lock:
                key = self.key()
                uidlist = self.read()
                self._cache = None  # changed below: trusted again once written
                if uidlist is not None and key is not None:
                    listed = len(uidlist.records)
                    uidlist.assign_in_order(bases)
                    added = uidlist.records[listed:]
                    if added and not (
                        uidlist.version == 3
                        and append_records(self.path, added, expected_size=key[1])
                    ):
                        write_uidlist(lock, uidlist)
                    # The file now holds exactly this object: the next sync need not
                    # read it again.
                    written = self.key()
                    if written is not None:
                        self._cache = _Kept(written, uidlist, written[1])
        except UidListError:
            uidlist = None
        if uidlist is None:
            uidlist = self.number_all()  # none yet, or broken: number everything
        return uidlist

    def key(self) -> UidListKey | None:
        """The present version of `dovecot-uidlist` (None: no file)."""
        try:
            info = os.stat(os.path.join(self.path, FILE_NAME))
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def is_kept(self, key: UidListKey) -> bool:
        """Whether the list of version `key` is the one kept (read or written by us)."""
        return self._cache is not None and self._cache.key == key

    def read(self) -> UidList | None:
        """The folder's uidlist, parsed again only when the file changed (only the
        records appended, when it grew in place); None when there is none or it is
        broken (`number_all` logs that and rebuilds it)."""
        key = self.key()
        if key is None:
            self._cache = None
            return None
        kept = self._cache
        if kept is not None:
            if kept.key == key:
                return kept.uidlist
            if kept.key[2] == key[2] and key[1] > kept.through > 0:
                grown = self._read_appended(kept)
                if grown is not None:
                    return grown
        self._cache = None
        try:
            read = self._read_from(0)
            if read is None:
                return None
            key, data = read
            uidlist = parse_uidlist(data)
        except UidListError:
            return None
        self._cache = _Kept(key, uidlist, data.rfind(b"\n") + 1)
        return uidlist

    def _read_appended(self, kept: _Kept) -> UidList | None:
        """`kept`'s list with the records appended to its file since; None when the
        file is not simply longer (then it is read whole, which also reports errors)."""
        # From the line end before: a file changed other than by appending would not
        # have one there (a torn last line was not parsed, and does not end so).
        read = self._read_from(kept.through - 1)
        if read is None or read[0][2] != kept.key[2] or not read[1].startswith(b"\n"):
            return None
        key, data = read
        try:
            uidlist = extend_uidlist(kept.uidlist, data[1:])
        except UidListError:
            return None
        self._cache = _Kept(key, uidlist, kept.through + data.rfind(b"\n"))
        return uidlist

    def _read_from(self, offset: int) -> tuple[UidListKey, bytes] | None:
        """The file's key and its bytes from `offset` to the size the key gives
        (appended after that: read next time); None when there is no file."""
        try:
            fd = os.open(os.path.join(self.path, FILE_NAME), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            info = os.fstat(fd)
            chunks = []
            position, end = offset, info.st_size
            while position < end:
                chunk = os.pread(fd, end - position, position)
                if not chunk:
                    break  # truncated meanwhile: the next look finds another key
                chunks.append(chunk)
                position += len(chunk)
        finally:
            os.close(fd)
        return (info.st_mtime_ns, info.st_size, info.st_ino), b"".join(chunks)

    def pop3_uidls(self) -> dict[int, str]:
        """The POP3 UIDLs `dovecot-uidlist` holds, by UID: Dovecot's P field, which it
        keeps for mail migrated from another POP3 server (its pop3_migration plugin) and
        answers UIDL with instead of `pop3_uidl_format`."""
        uidlist = self.read()
        if uidlist is None:
            return {}
        found: dict[int, str] = {}
        for record in uidlist.records:
            if record.extensions:
                value = record.extension("P")
                if value:
                    found[record.uid] = value
        return found

    def _read_logging(self) -> UidList | None:
        try:
            return read_uidlist(self.path)
        except UidListError as error:
            log.error("%s: %s is broken (%s); it will be rebuilt", self.path, FILE_NAME, error)
            return None
