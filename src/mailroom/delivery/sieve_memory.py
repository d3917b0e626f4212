"""What an account's Sieve scripts remember between deliveries: the vacation replies
sent (RFC 5230 §4.2) and the duplicate test's marks (RFC 7352 §3).

One small SQLite file per account, `mailroom-sieve.sqlite` in the root of its Maildir
(beside `mailroom-index.sqlite`; no leading '.', which in Maildir++ names a folder).
Why there and not one file per host under data_dir:
- it belongs to the account: it moves, is backed up and is deleted with its Maildir,
  and one member's flood of senders cannot crowd out another member's memory;
- the Maildir is the one directory that is surely the account's alone (a home from
  `%h` may be shared: `mail/%d/%n` makes the domain's directory everybody's home);
- deliveries to different accounts never wait for each other's lock.
Pigeonhole keeps the same memory per user too (`~/.dovecot.lda-dupes`).

Rows hold a SHA-256 of (kind, handle, value) and an expiry time, so a row has a fixed
size whatever a script put in its handle or value; each write first drops expired
rows, then the oldest rows past `max_rows`: the file stays small (10,000 rows are well
under a megabyte).

Several threads and processes may deliver to one account at once: the file is in WAL
mode with a busy timeout, and a vacation reply is *claimed* in one IMMEDIATE
transaction (record it unless an unexpired record is there), so two deliveries racing
for the same sender answer once. The claim is given back if the reply cannot be
queued. A file SQLite cannot read is moved aside and started afresh (it only holds
memory, nothing that cannot be lost); when it cannot be opened at all, nothing counts
as seen and no vacation reply is sent (better silent than answering every message).

Everything here blocks: call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path

log = logging.getLogger("mailroom.delivery")

FILE_NAME = "mailroom-sieve.sqlite"
MAX_ROWS = 10_000
"""Rows kept per account; past it the ones that expire first go."""
BUSY_TIMEOUT_SECONDS = 10.0
"""How long a writer waits for another process's transaction on the same file."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory (
    key BLOB PRIMARY KEY,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_expires ON memory (expires);
"""


class Kind(Enum):
    VACATION = "vacation"
    DUPLICATE = "duplicate"


def memory_key(kind: Kind, handle: str, value: str) -> bytes:
    """The row key: a digest, so the row's size does not depend on what a script wrote."""
    digest = hashlib.sha256(kind.value.encode())
    for part in (handle, value):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))  # no two (handle, value) pairs collide
        digest.update(data)
    return digest.digest()


class SieveMemory:
    """One account's memory; the file is opened at first use (most deliveries never
    need it) and closed by `close()`."""

    def __init__(
        self,
        maildir: Path,
        *,
        clock: Callable[[], float] = time.time,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.path = maildir / FILE_NAME
        self.clock = clock
        self.max_rows = max_rows
        self._db: sqlite3.Connection | None = None
        self._unusable = False

    def __enter__(self) -> SieveMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- the duplicate test (RFC 7352) --

    def seen(self, handle: str, value: str) -> bool:
        """Whether `value` was marked under `handle` and the mark has not expired."""
        db = self._connection()
        if db is None:
            return False
        row = db.execute(
            "SELECT expires FROM memory WHERE key = ?",
            (memory_key(Kind.DUPLICATE, handle, value),),
        ).fetchone()
        return row is not None and float(row[0]) > self.clock()

    def mark(self, handle: str, value: str, period_seconds: int) -> None:
        """Remember `value` under `handle` for `period_seconds` from now. The
        interpreter marks a value again only when the period is to restart (RFC 7352
        §3 `:last`), so a mark always sets the expiry."""
        db = self._connection()
        if db is None:
            return
        now = self.clock()
        with _transaction(db):
            db.execute(
                "INSERT OR REPLACE INTO memory (key, expires) VALUES (?, ?)",
                (memory_key(Kind.DUPLICATE, handle, value), now + max(0, period_seconds)),
            )
            self._trim(db, now)

    # -- vacation (RFC 5230 §4.2) --

    def claim_vacation(self, handle: str, sender: str, period_seconds: int) -> bool:
        """True if `sender` has not been answered under `handle` within the period, and
        records the answer now; False if it has (or the memory cannot be used)."""
        if period_seconds <= 0:
            return self._connection() is not None  # RFC 6131 `:seconds 0`: every time
        return self._claim(vacation_key(handle, sender), period_seconds)

    def release_vacation(self, handle: str, sender: str) -> None:
        """Forget a claim whose reply could not be queued, so the next message tries again."""
        db = self._connection()
        if db is not None:
            with _transaction(db):
                db.execute("DELETE FROM memory WHERE key = ?", (vacation_key(handle, sender),))

    # -- the file --

    def _claim(self, key: bytes, period_seconds: int) -> bool:
        db = self._connection()
        if db is None:
            return False
        now = self.clock()
        with _transaction(db):
            row = db.execute("SELECT expires FROM memory WHERE key = ?", (key,)).fetchone()
            if row is not None and float(row[0]) > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO memory (key, expires) VALUES (?, ?)",
                (key, now + max(0, period_seconds)),
            )
            self._trim(db, now)
        return True

    def _trim(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM memory WHERE expires <= ?", (now,))
        (count,) = db.execute("SELECT count(*) FROM memory").fetchone()
        if count > self.max_rows:
            db.execute(
                "DELETE FROM memory WHERE key IN (SELECT key FROM memory ORDER BY expires LIMIT ?)",
                (count - self.max_rows,),
            )

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is not None or self._unusable:
            return self._db
        try:
            try:
                self._db = _open(self.path)
            except sqlite3.DatabaseError as error:
                if isinstance(error, sqlite3.OperationalError):
                    raise  # locked, unwritable: not a broken file, do not move it
                aside = self.path.with_name(f"{FILE_NAME}.broken-{int(self.clock())}")
                log.error("%s cannot be read (%s); moved to %s", self.path, error, aside.name)
                with contextlib.suppress(FileNotFoundError):
                    os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    self.path.with_name(FILE_NAME + suffix).unlink(missing_ok=True)
                self._db = _open(self.path)
        except (sqlite3.Error, OSError) as error:
            log.error("%s: Sieve memory unusable (%s): no vacation replies", self.path, error)
            self._unusable = True
        return self._db


def vacation_key(handle: str, sender: str) -> bytes:
    # Addresses are compared without regard to case (RFC 5230 §4.2 leaves the
    # comparison to the implementation; the domain is case-insensitive anyway).
    return memory_key(Kind.VACATION, handle, sender.lower())


def _open(path: Path) -> sqlite3.Connection:
    # Used by one delivery at a time, from whichever worker thread runs its step.
    db = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
    )
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute("SELECT count(*) FROM memory").fetchone()
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT: the write lock first, so a read-then-write decides
    on what no other process can change before the write."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
