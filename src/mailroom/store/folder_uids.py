"""A folder's files and their UIDs: new/ and cur/ listed, numbered in `dovecot-uidlist`.

Every file in new/ and cur/ is a message once `dovecot-uidlist` gives its base name
(filename.py) a UID; files that have none get the next ones, under the uidlist's
dotlock, so that Dovecot and Mailroom, taking turns on one Maildir, agree. A UID is
never given twice: the list's next UID never goes down, and records of files that
are gone are dropped when the list is written again. Names that cannot be messages
(dot files, names with a newline, which the uidlist cannot hold) are skipped with a
log line; hostile names never make a listing fail.

The parsed list is kept while the file does not change (10,000 lines take tens of
milliseconds to parse): a sync that finds the folder as it was reads nothing.
Everything here blocks; folder_state.py calls it with the folder's lock held.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from mailroom.store.filename import INFO_START
from mailroom.store.uidlist import (
    FILE_NAME,
    UidList,
    UidListError,
    append_records,
    read_uidlist,
    uidlist_lock,
    write_uidlist,
)

log = logging.getLogger(__name__)

UidListKey = tuple[int, int, int]
"""(mtime_ns, size, inode) of `dovecot-uidlist`: what tells one version from another."""


class FolderUids:
    """The files of one folder (INBOX's root or a `.Folder`) and their UIDs."""

    def __init__(self, path: Path, *, lock_wait: float) -> None:
        self.path = path
        self.lock_wait = lock_wait
        self._cache: tuple[UidListKey, UidList] | None = None

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
                    if added and not append_records(self.path, added, expected_size=key[1]):
                        write_uidlist(lock, uidlist)
                    # The file now holds exactly this object: the next sync need not
                    # read it again.
                    written = self.key()
                    if written is not None:
                        self._cache = (written, uidlist)
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
        return self._cache is not None and self._cache[0] == key

    def read(self) -> UidList | None:
        """The folder's uidlist, parsed again only when the file changed; None when
        there is none or it is broken (`number_all` logs that and rebuilds it)."""
        key = self.key()
        if key is None:
            self._cache = None
            return None
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        try:
            uidlist = read_uidlist(self.path)
        except UidListError:
            return None
        # Replaced between the stat and the read? Then the key is stale and the next look reads.
        self._cache = None if uidlist is None else (key, uidlist)
        return uidlist

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
