"""The SQLite index of one Maildir folder: a cache that deleting loses nothing.

Each folder directory (the INBOX root, or a `.Folder`) has its own
`mailroom-index.sqlite` (no leading '.': in Maildir++ a dot name is a
folder). It holds what would be slow to find again on every SELECT: per UID
the file's base name, its flag letters, where it is (new/ or cur/), its
CONDSTORE modseq (RFC 7162), stored and virtual (CRLF) size and internal
date; the UIDs expunged with the modseq of their expunge (QRESYNC's
VANISHED); HIGHESTMODSEQ; the first UID no session has claimed as \\Recent (as
Dovecot's dovecot.index header keeps `first_recent_uid`); opaque cached blobs per message (ENVELOPE,
BODYSTRUCTURE, …); and per UID the texts SEARCH TEXT and BODY look in (header
and body), case-folded, filled lazily.

It is a cache: UIDs come from `dovecot-uidlist`, flags from the file
names, internal dates from the files' mtimes (as Dovecot's maildir does), so
a deleted index is rebuilt by the next sync. A rebuilt index starts its
modseqs at the clock in microseconds, so HIGHESTMODSEQ never goes backwards
for a client that remembered it (RFC 7162 §3.1.2.2 forbids that). An index
that SQLite cannot read is moved aside with a log line and rebuilt.

Shared modseqs: a change to the folder's messages (flags, new and expunged
messages) is written at once, in the write transaction that gives it its modseq
(`change`, `IndexChange`), together with the rename, link or unlink it records:
every process sharing the folder reads those rows back instead of numbering the
change again (folder_memory.py), so all give it the same modseq. One transaction
per command, with no fsync (WAL, synchronous=NORMAL: a crash may lose the last
commits, which the next sync finds again as differences from the files). The
first recent UID is written in such a transaction too (`claim_recent`): every
process sharing the folder must see who took which.

Writing behind: values put into the cache are written by `flush()`, which the
Mailbox runs in another store thread after the command's answer, or before the
next write here, whichever comes first: writes keep their order, and a client does
not wait for rows that only save later work. (`apply(later=True)` queues message
rows the same way; the folders no longer use it, as a queued row's modseq would be
unknown to the other processes until written.)

Blocking: called from store threads; a lock lets one thread at a time use the
connection (a flush may run beside the folder's next operation until that one
touches the index). HIGHESTMODSEQ is read through a second connection, so that
taking the next modseq never waits for a flush.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from mailroom.store.index_rows import (
    IndexChange,
    IndexRow,
    _meta,
    _raise_highestmodseq,
    _reset_tables,
    _row_of,
    _write_rows,
)

log = logging.getLogger(__name__)

FILE_NAME = "mailroom-index.sqlite"
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    uid INTEGER PRIMARY KEY,
    base BLOB NOT NULL,
    file BLOB NOT NULL,
    recent INTEGER NOT NULL,
    info BLOB NOT NULL,
    modseq INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    internaldate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS expunged (uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cache (
    uid INTEGER NOT NULL, field TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (uid, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS texts (uid INTEGER PRIMARY KEY, head BLOB NOT NULL, body BLOB NOT NULL);
-- Which UIDs have texts, without reading a page per text (which the table's scan does).
CREATE INDEX IF NOT EXISTS texts_uids ON texts (uid);
-- What changed since a modseq (another process's changes, read back: `IndexChange.since`).
CREATE INDEX IF NOT EXISTS messages_modseqs ON messages (modseq);
CREATE INDEX IF NOT EXISTS expunged_modseqs ON expunged (modseq);
"""

MMAP_BYTES = 1 << 30
"""Of the index file read through a memory map: a text search reads all the texts."""


def clock_modseq() -> int:
    """A modseq above any given before: the clock in microseconds."""
    return time.time_ns() // 1000


TextRow = tuple[int, bytes, bytes]
"""(uid, header, body) as the index stores them: case-folded UTF-8."""


class MailboxIndex:
    """The open index of one folder directory."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self._lock = threading.RLock()
        """The connection, for one thread at a time."""
        self._later: list[Callable[[], None]] = []
        """Writes not made yet, in order (`flush`)."""
        self._queued_cache: dict[tuple[int, str], bytes] = {}
        """Cached values among them, by (uid, field)."""
        self._closed = False
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            self._move_aside(error)
            self._db = self._open()

    # -- opening --

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            db.executescript(_SCHEMA)
            version = _meta(db, "schema")
            if version == 1:
                _drop_full_text_index(db)
                version = SCHEMA_VERSION
            if version not in (None, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
            if version is None:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    for table in ("messages", "expunged", "cache", "texts"):
                        db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
                    db.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
                    )
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('uidvalidity', 0)")
                    db.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('highestmodseq', ?)", (clock_modseq(),)
                    )
                    db.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('history_start', ?)", (clock_modseq(),)
                    )
            db.execute("SELECT count(*) FROM messages").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, error: Exception) -> None:
        aside = self.path.with_name(f"{FILE_NAME}.broken-{int(time.time())}")
        log.error("%s cannot be read (%s); moved to %s, rebuilding", self.path, error, aside.name)
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            self.path.with_name(FILE_NAME + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Write what is queued, and close."""
        with self._lock:
            if self._closed:
                return
            try:
                self._flush()
            finally:
                self._closed = True
                self._db.close()
                with self._reader_lock:
                    if self._reader is not None:
                        self._reader.close()

    # -- writing behind --

    @property
    def pending(self) -> bool:
        """Whether writes wait for `flush`."""
        return bool(self._later)

    def flush(self) -> None:
        """Make the queued writes, in order (nothing once closed)."""
        with self._lock:
            if not self._closed:
                self._flush()

    def _flush(self) -> None:
        while self._later:
            try:
                self._later.pop(0)()
            except sqlite3.Error as error:
                # Only a saving is lost: on its next open the folder's rows are compared
                # with the files again (and cached values are computed when asked for).
                log.warning("%s: a queued index write failed: %s", self.path, error)

    # -- reading --

    @property
    def uidvalidity(self) -> int:
        with self._lock:
            return _meta(self._db, "uidvalidity") or 0

    @property
    def highestmodseq(self) -> int:
        """As committed; through a connection of its own, so that a flush running in
        another thread does not hold it up."""
        return self._committed("highestmodseq") or 0

    @property
    def first_recent_uid(self) -> int | None:
        """Messages from this UID on are \\Recent for the next session to claim them
        (None until `start_recent`). Read like HIGHESTMODSEQ: another process may
        have claimed some since."""
        return self._committed("first_recent_uid")

    def _committed(self, key: str) -> int | None:
        """A meta value as last committed, by any process."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
            return _meta(self._reader, key)

    @property
    def history_start(self) -> int:
        """Expunges with a modseq at or below this one are not recorded (index rebuilt)."""
        with self._lock:
            return _meta(self._db, "history_start") or 0

    def rows(self) -> list[IndexRow]:
        with self._lock:
            self._flush()
            return self._rows()

    def _rows(self) -> list[IndexRow]:
        cursor = self._db.execute(
            "SELECT uid, base, file, recent, info, modseq, stored_size, size, internaldate"
            " FROM messages ORDER BY uid"
        )
        return [_row_of(values) for values in cursor]

    def expunged(self) -> list[tuple[int, int]]:
        """(modseq, uid) of recorded expunges, in modseq order."""
        with self._lock:
            self._flush()
            return list(self._db.execute("SELECT modseq, uid FROM expunged ORDER BY modseq, uid"))

    # -- writing --

    @contextlib.contextmanager
    def change(self) -> Iterator[IndexChange]:
        """One write transaction (BEGIN IMMEDIATE): no other process's change to the
        folder can come between what the block reads and what it writes; committed
        when the block ends, rolled back if it raises. See `IndexChange`."""
        with self._lock:
            self._flush()
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                yield IndexChange(self._db)

    def reset(self, uidvalidity: int, modseq: int) -> None:
        """Forget every message: the folder has a new UIDVALIDITY (or the index is new)."""
        with self._lock:
            self._flush()
            self._reset(uidvalidity, modseq)

    def _reset(self, uidvalidity: int, modseq: int) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            _reset_tables(self._db, uidvalidity, modseq)

    def start_recent(self, uid: int) -> int:
        """Record `uid` as the first recent UID unless one is recorded (a new index, or
        a new UIDVALIDITY); the one recorded now."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('first_recent_uid', ?)", (uid,))
            return _meta(self._db, "first_recent_uid") or uid

    def claim_recent(self, next_uid: int) -> int:
        """Move the first recent UID up to `next_uid` (never down); the one it was. The
        caller owns the recent UIDs from that one to below `next_uid`: one transaction,
        so that of several processes, only one gets each."""
        with self.change() as change:
            return change.claim_recent(next_uid)

    def apply(
        self,
        *,
        upsert: Iterable[IndexRow] = (),
        renamed: Iterable[tuple[str, bool, str, int, int]] = (),
        expunge: Sequence[int] = (),
        highestmodseq: int,
        expunge_modseq: int | None = None,
        later: bool = False,
    ) -> None:
        """One transaction: rows added or replaced, files renamed ((file, recent, info,
        modseq, uid): a flag change or a move to cur/), UIDs expunged, the new
        HIGHESTMODSEQ. With `later`, the rows are written by the next `flush` and
        only the new HIGHESTMODSEQ now (see the module's docstring)."""
        write = functools.partial(
            self._apply, list(upsert), list(renamed), list(expunge), highestmodseq, expunge_modseq
        )
        with self._lock:
            if later:
                self._later.append(write)
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    _raise_highestmodseq(self._db, highestmodseq)
            else:
                self._flush()
                write()

    def _apply(
        self,
        upsert: list[IndexRow],
        renamed: list[tuple[str, bool, str, int, int]],
        expunge: list[int],
        highestmodseq: int,
        expunge_modseq: int | None,
    ) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            _write_rows(self._db, upsert, renamed, expunge, expunge_modseq)
            _raise_highestmodseq(self._db, highestmodseq)

    def _set(self, **values: int) -> None:
        for key, value in values.items():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- cached blobs --

    def cached(self, uid: int, field: str) -> bytes | None:
        with self._lock:
            queued = self._queued_cache.get((uid, field))
            if queued is not None:
                return queued
            row = self._db.execute(
                "SELECT value FROM cache WHERE uid = ? AND field = ?", (uid, field)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_cached(self, uid: int, field: str, value: bytes) -> None:
        """Queued, like every cache write (`flush`)."""
        self.put_cached_many(field, {uid: value})

    def cached_many(self, uids: Iterable[int], field: str) -> dict[int, bytes]:
        """The values of `field` the index has for `uids` (one query per 500 UIDs)."""
        wanted = list(uids)
        found: dict[int, bytes] = {}
        with self._lock:
            if self._queued_cache:
                for uid in wanted:
                    queued = self._queued_cache.get((uid, field))
                    if queued is not None:
                        found[uid] = queued
                wanted = [uid for uid in wanted if uid not in found]
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT uid, value FROM cache WHERE field = ? AND uid IN ({marks})",  # noqa: S608 - only "?" marks
                    (field, *chunk),
                )
                found.update((uid, bytes(value)) for uid, value in rows)
        return found

    def put_cached_many(self, field: str, values: dict[int, bytes]) -> None:
        """Queued (`flush`): a FETCH that computed values need not wait to store them."""
        rows = [(uid, field, value) for uid, value in values.items()]
        if rows:
            with self._lock:
                # Read from here until written, so that nothing is computed twice.
                self._queued_cache.update(((uid, field), value) for uid, field, value in rows)
                self._later.append(functools.partial(self._put_cached_rows, rows))

    def _put_cached_rows(self, rows: list[tuple[int, str, bytes]]) -> None:
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", rows)
        finally:
            for uid, field, value in rows:
                if self._queued_cache.get((uid, field)) is value:
                    del self._queued_cache[(uid, field)]

    def take_derived(self, source: Path, pairs: Iterable[tuple[int, int]], *, texts: bool) -> None:
        """Copy the cached values (or the texts, with `texts`) of the messages of the
        folder at `source` to ours, for each (source UID, our UID) pair: what a COPY or
        MOVE takes along.

        The rows go from one database file to the other inside SQLite (the source's
        index is attached for the moment, read as of its last commit), never through
        Python objects: the texts of a thousand messages are megabytes. A source
        without an index gives nothing (the copies' values are computed when needed).
        """
        pairs = list(pairs)
        source_file = source / FILE_NAME
        if not pairs or not source_file.exists():
            return
        with self._lock:
            self._flush()
            self._take_derived(source_file, pairs, texts=texts)

    def _take_derived(
        self, source_file: Path, pairs: list[tuple[int, int]], *, texts: bool
    ) -> None:
        schema = "main"
        if source_file != self.path:
            schema = "source"
            self._db.execute("ATTACH DATABASE ? AS source", (os.fspath(source_file),))
        try:
            with self._db:
                # Deferred, not IMMEDIATE: that would take the write lock of the attached
                # source too, and hold up the source's own work (a MOVE's expunge).
                self._db.execute("BEGIN")
                self._db.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS copies"
                    " (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)"
                )
                self._db.execute("DELETE FROM temp.copies")
                self._db.executemany("INSERT OR REPLACE INTO temp.copies VALUES (?, ?)", pairs)
                table, columns = (
                    ("texts", "c.head, c.body") if texts else ("cache", "c.field, c.value")
                )
                self._db.execute(
                    f"INSERT OR REPLACE INTO main.{table} SELECT copies.new, {columns}"  # noqa: S608 - fixed names
                    f" FROM {schema}.{table} AS c JOIN temp.copies ON c.uid = copies.old"
                )
                self._db.execute("DELETE FROM temp.copies")
        finally:
            if schema == "source":
                self._db.execute("DETACH DATABASE source")

    # -- texts for SEARCH TEXT and BODY --

    def drop_texts(self, present: set[int]) -> int:
        """Drop the texts of messages not in `present` (expunged); how many went."""
        with self._lock:
            self._flush()
            stale = [
                (uid,) for (uid,) in self._db.execute("SELECT uid FROM texts") if uid not in present
            ]
            if stale:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany("DELETE FROM texts WHERE uid = ?", stale)
        return len(stale)

    def texts_missing(self, uids: Iterable[int]) -> list[int]:
        """The UIDs among `uids` whose texts are not indexed yet."""
        with self._lock:
            have = {row[0] for row in self._db.execute("SELECT uid FROM texts")}
        return [uid for uid in uids if uid not in have]

    def put_texts(self, texts: Iterable[TextRow]) -> None:
        """Store texts that `folded_texts` made."""
        with self._lock:
            self._flush()
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO texts VALUES (?, ?, ?)", texts)

    def search(self, needle: str, *, head: bool) -> set[int]:
        """UIDs whose body text (and header too, with `head`) holds `needle`,
        case-insensitively (RFC 9051 §6.4.4)."""
        # A plain scan: for a substring anywhere it costs about what one lookup in a
        # trigram index does, and storing a text costs no more than writing it (a
        # trigram index costs many times that to fill, and far more to delete from).
        # Both sides are case-folded UTF-8, where a byte substring is a text substring.
        query = "SELECT uid FROM texts WHERE instr(body, ?1) > 0"
        if head:
            query += " OR instr(head, ?1) > 0"
        with self._lock:
            return {uid for (uid,) in self._db.execute(query, (_fold(needle),))}


def folded_texts(uid: int, head: str, body: str) -> TextRow:
    """A message's texts (see mailroom.message.search_text) as the index stores them."""
    return uid, _fold(head), _fold(body)


def _fold(text: str) -> bytes:
    # surrogatepass: text decoded with surrogateescape must not fail to be stored.
    return text.casefold().encode("utf-8", "surrogatepass")


def _drop_full_text_index(db: sqlite3.Connection) -> None:
    """Schema 1 kept the texts in an FTS5 trigram table: the texts are extracted again."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DROP TABLE IF EXISTS fts")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
