"""The rows of a folder's index (store/index.py) and the write transaction that numbers
changes for every process sharing the folder (`IndexChange`): what the index writes
row by row, kept apart from how it opens, migrates and caches."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def _meta(db: sqlite3.Connection, key: str) -> int | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One message as the index records it."""

    uid: int
    base: str
    file: str
    """The file's name in its directory (base, then `:2,<info>` in cur/)."""
    recent: bool
    """The file is in new/."""
    info: str
    modseq: int
    stored_size: int
    size: int
    """Virtual size: with CRLF line ends (RFC822.SIZE)."""
    internaldate: int
    """Seconds since the epoch (the file's mtime)."""


def _values(row: IndexRow) -> tuple[int | str | bytes, ...]:
    return (
        row.uid,
        # File names are bytes to the kernel; a name that is not UTF-8 must round-trip
        # (os.fsencode, without its checks: thousands at a time).
        row.base.encode(_FS_ENCODING, _FS_ERRORS),
        row.file.encode(_FS_ENCODING, _FS_ERRORS),
        int(row.recent),
        row.info.encode(_FS_ENCODING, _FS_ERRORS),
        row.modseq,
        row.stored_size,
        row.size,
        row.internaldate,
    )


class IndexChange:
    """An open write transaction of the index (`MailboxIndex.change`).

    Modseqs are given out here, once for every process sharing the folder: a change
    is numbered by whichever process makes it (or first finds it on disk) inside this
    transaction, above the HIGHESTMODSEQ committed so far, and its rows are written
    in the same transaction; every other process reads them back (`since`) rather
    than numbering the change again (folder_sync.py)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.highestmodseq = _meta(db, "highestmodseq") or 0
        """As committed when the transaction began, raised by `write`."""
        self.uidvalidity = _meta(db, "uidvalidity") or 0
        self.history_start = _meta(db, "history_start") or 0

    def since(self, modseq: int) -> tuple[list[IndexRow], list[tuple[int, int]]]:
        """The rows whose modseq is above `modseq`, by UID; and the (modseq, uid) of
        expunges above it, in modseq order."""
        cursor = self._db.execute(
            "SELECT uid, base, file, recent, info, modseq, stored_size, size, internaldate"
            " FROM messages WHERE modseq > ? ORDER BY uid",
            (modseq,),
        )
        rows = [_row_of(values) for values in cursor]
        expunged = list(
            self._db.execute(
                "SELECT modseq, uid FROM expunged WHERE modseq > ? ORDER BY modseq, uid",
                (modseq,),
            )
        )
        return rows, expunged

    def write(
        self,
        *,
        upsert: Iterable[IndexRow] = (),
        renamed: Iterable[tuple[str, bool, str, int, int]] = (),
        expunge: Sequence[int] = (),
        highestmodseq: int,
        expunge_modseq: int | None = None,
    ) -> None:
        """As `MailboxIndex.apply`, inside this transaction."""
        _write_rows(self._db, list(upsert), list(renamed), list(expunge), expunge_modseq)
        _raise_highestmodseq(self._db, highestmodseq)
        self.highestmodseq = max(self.highestmodseq, highestmodseq)

    def reset(self, uidvalidity: int, modseq: int) -> None:
        """As `MailboxIndex.reset`, inside this transaction."""
        _reset_tables(self._db, uidvalidity, modseq)
        self.highestmodseq = self.history_start = modseq
        self.uidvalidity = uidvalidity

    def claim_recent(self, next_uid: int) -> int:
        """As `MailboxIndex.claim_recent`, inside this transaction."""
        first = _meta(self._db, "first_recent_uid") or 1
        if next_uid > first:
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('first_recent_uid', ?)", (next_uid,)
            )
        return first


def _row_of(values: tuple[int, bytes, bytes, int, bytes, int, int, int, int]) -> IndexRow:
    uid, base, file, recent, info, modseq, stored, size, date = values
    return IndexRow(
        uid=uid,
        base=os.fsdecode(base),
        file=os.fsdecode(file),
        recent=bool(recent),
        info=os.fsdecode(info),
        modseq=modseq,
        stored_size=stored,
        size=size,
        internaldate=date,
    )


def _write_rows(
    db: sqlite3.Connection,
    upsert: list[IndexRow],
    renamed: list[tuple[str, bool, str, int, int]],
    expunge: list[int],
    expunge_modseq: int | None,
) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_values(r) for r in upsert),
    )
    db.executemany(
        "UPDATE messages SET file = ?, recent = ?, info = ?, modseq = ? WHERE uid = ?",
        (
            # os.fsencode, without its checks: thousands at a time.
            (
                file.encode(_FS_ENCODING, _FS_ERRORS),
                int(recent),
                info.encode(_FS_ENCODING, _FS_ERRORS),
                modseq,
                uid,
            )
            for file, recent, info, modseq, uid in renamed
        ),
    )
    if expunge:
        uids = [(uid,) for uid in expunge]
        db.executemany("DELETE FROM messages WHERE uid = ?", uids)
        db.executemany("DELETE FROM cache WHERE uid = ?", uids)
        # The texts stay until the next search drops them all in one statement
        # (`drop_texts`): UIDs are never reused, and many expunges meet no search.
        if expunge_modseq is not None:
            db.executemany(
                "INSERT OR REPLACE INTO expunged VALUES (?, ?)",
                ((uid, expunge_modseq) for uid in expunge),
            )


def _raise_highestmodseq(db: sqlite3.Connection, highestmodseq: int) -> None:
    # Never lower it: another process may share this index (folder_state.py).
    db.execute(
        "UPDATE meta SET value = max(value, ?) WHERE key = 'highestmodseq'", (highestmodseq,)
    )


def _reset_tables(db: sqlite3.Connection, uidvalidity: int, modseq: int) -> None:
    for table in ("messages", "expunged", "cache", "texts"):
        db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    for key, value in (
        ("uidvalidity", uidvalidity),
        ("highestmodseq", modseq),
        ("history_start", modseq),
    ):
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
    # The old UIDs' recent mark means nothing for the new ones (start_recent).
    db.execute("DELETE FROM meta WHERE key = 'first_recent_uid'")
