"""Dovecot's `dovecot-uidlist`: which IMAP UID each Maildir file has.

An existing Dovecot Maildir must be served with the UIDs Dovecot gave it, or
every client downloads every message again; and a rollback to Dovecot must
find UIDs it understands. So this module reads and writes the file exactly
as Dovecot 2.3 does. Hand-written: no library reads this format.

The format (Dovecot's src/lib-storage/index/maildir/maildir-uidlist.c, and
checked against files written by Dovecot 2.3.19.1's dovecot-lda and imap on
this project's build machine, kept in tests/store/fixtures/dovecot-2.3/):

    3 V1795616411 N8 G98c6a82b9bee066b4535000083ecc375
    6 :1795616427.M454329P13700.vm,S=43,W=47
    7 W18 :1795616500.P1Q1.other.host

- The header line is the version, then `<key><value>` fields separated by
  one space: V the UIDVALIDITY, N the next UID, G the mailbox GUID (32 hex
  digits). Other keys may appear; they are kept and written back.
- Each further line is one message: its UID, optional `<key><value>`
  extension fields (Dovecot writes W<virtual size> when the file name has no
  `,W=`; it also knows S, G, P (POP3 UIDL) and O (POP3 order)), then a space,
  a ':' and the file's base name (the name without its `:2,<flags>` info,
  so flag changes never touch the uidlist). The name runs to the end of
  the line, spaces included.
- UIDs are strictly increasing. Dovecot appends lines for new messages
  without rewriting the header, so a real file may say `N1` above five
  records (the fixture does): the next UID is the larger of N and the last
  UID + 1. Records of expunged messages stay until the file is rewritten.
- Version 1 (Dovecot ≤ 1.0, and Courier's courierimapuiddb) is
  `1 <uidvalidity> <nextuid>` then `<uid> <filename>` lines; version 2 (a
  few development releases) has a flags field after the UID. Both are read;
  we always write version 3.

Writing uses Dovecot's dotlock `dovecot-uidlist.lock`: created with O_EXCL,
the whole new file is written into the lock file itself, fsynced and renamed
over `dovecot-uidlist` (Dovecot's file_dotlock_replace), which is atomic and
releases the lock in the same step. A lock older than two minutes is stale
and removed (Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT). Bytes that are
not UTF-8 in file names are carried with surrogateescape, as os.listdir
gives them, so any name on disk round-trips.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from mailroom.durable import fsync_directory

FILE_NAME = "dovecot-uidlist"
LOCK_SUFFIX = ".lock"
STALE_LOCK_SECONDS = 120.0
"""Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT (60*2)."""
LOCK_WAIT_SECONDS = 10.0
MAX_UID = 2**32 - 2
"""UIDs are 32-bit and (uint32_t)-1 is reserved, so this is the largest one."""
MAX_UIDVALIDITY = 2**32 - 1
_EXTENSION_KEYS_WE_OWN = frozenset("VN")


_last_uidvalidity = 0
_uidvalidity_lock = threading.Lock()


class UidListError(ValueError):
    """A `dovecot-uidlist` that cannot be read; the message says where and why."""


class LockTimeout(TimeoutError):
    """Another process held a dotlock for longer than we were willing to wait."""


@dataclass(frozen=True)
class UidRecord:
    """One message line: its UID, Dovecot's extension fields and its base name."""

    uid: int
    name: str
    extensions: tuple[tuple[str, str], ...] = ()

    def extension(self, key: str) -> str | None:
        for candidate, value in self.extensions:
            if candidate == key:
                return value
        return None


@dataclass
class UidList:
    """The UIDs of one Maildir folder. UIDs only grow: a UID is never given twice."""

    uidvalidity: int
    next_uid: int
    header_extensions: tuple[tuple[str, str], ...] = ()
    """Header fields other than V and N, in file order (G, the GUID, among them)."""
    records: list[UidRecord] = field(default_factory=list)
    version: int = field(default=3, compare=False)
    """The file's format: records may be appended (`append_records`) only to a version 3
    file; a list read from version 1 or 2 is written anew, as version 3."""
    _by_name: dict[str, UidRecord] = field(init=False, repr=False, compare=False)
    _formatted: tuple[list[UidRecord], int, list[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The record lines of `records[:n]` as last formatted (records are only ever
    appended to a list; `retain` makes a new one): the next write formats only the rest."""

    def __post_init__(self) -> None:
        self._by_name = {record.name: record for record in self.records}

    @classmethod
    def create(cls, now: float | None = None) -> UidList:
        """A new, empty list: UIDVALIDITY from the clock as Dovecot does, a fresh GUID.

        Never the same UIDVALIDITY twice in this process: a folder deleted and made
        again within one second must not hand out its old UIDs under the old
        UIDVALIDITY (RFC 9051 §6.3.4; Dovecot takes max(now, last + 1) too).
        """
        global _last_uidvalidity
        uidvalidity = int(time.time() if now is None else now)
        with _uidvalidity_lock:
            if now is None:
                uidvalidity = max(uidvalidity, _last_uidvalidity + 1)
                _last_uidvalidity = uidvalidity
        uidvalidity = min(max(uidvalidity, 1), MAX_UIDVALIDITY)
        return cls(uidvalidity, 1, (("G", uuid.uuid4().hex),))

    @property
    def guid(self) -> str | None:
        for key, value in self.header_extensions:
            if key == "G":
                return value
        return None

    def uid_of(self, name: str) -> int | None:
        record = self._by_name.get(name)
        return None if record is None else record.uid

    def record_of(self, name: str) -> UidRecord | None:
        return self._by_name.get(name)

    def assign(self, names: Iterable[str]) -> list[UidRecord]:
        """Give the names not yet listed the next UIDs, in Dovecot's order; return them."""
        fresh = sorted({name for name in names if name not in self._by_name}, key=delivery_order)
        return [self._add(name) for name in fresh]

    def assign_in_order(self, names: Iterable[str]) -> list[int]:
        """The UIDs of `names`, giving those not yet listed the next UIDs in the order
        given (our own new files: APPEND's or COPY's order, not Dovecot's sort)."""
        return [(self._by_name.get(name) or self._add(name)).uid for name in names]

    def _add(self, name: str) -> UidRecord:
        _check_name(name)
        if self.next_uid > MAX_UID:
            raise UidListError("the folder has used up all 2^32 UIDs; it must be recreated")
        record = UidRecord(self.next_uid, name)
        self.next_uid += 1
        self.records.append(record)
        self._by_name[name] = record
        return record

    def record_lines(self) -> list[str]:
        """One line per record, as `dovecot-uidlist` holds them (without line ends)."""
        lines: list[str] = []
        start = 0
        if self._formatted is not None and self._formatted[0] is self.records:
            _, start, done = self._formatted
            lines = done
        lines.extend(record_line(record) for record in self.records[start:])
        self._formatted = (self.records, len(self.records), lines)
        return lines

    def retain(self, names: Collection[str]) -> list[UidRecord]:
        """Drop the records whose name is not in `names` (expunged); return them.

        next_uid stays where it is, so the dropped UIDs are never given again.
        """
        dropped = [record for record in self.records if record.name not in names]
        if dropped:
            self.records = [record for record in self.records if record.name in names]
            for record in dropped:
                del self._by_name[record.name]
        return dropped


def record_line(record: UidRecord) -> str:
    """The record's line in `dovecot-uidlist` (without its line end)."""
    fields = "".join(f" {key}{value}" for key, value in record.extensions)
    return f"{record.uid}{fields} :{record.name}"


def delivery_order(name: str) -> tuple[int, int, str]:
    """Sort key for new files: Dovecot's maildir_time_cmp.

    Seconds compared as numbers (a plain string sort breaks when the UNIX
    time grows a digit), then microseconds from `.M<usecs>`, then the name.
    """
    digits = len(name) - len(name.lstrip("0123456789"))
    seconds = int(name[:digits]) if 0 < digits <= 20 else 0
    microseconds = -1
    rest = name[digits:]
    if rest.startswith(".M"):
        usecs = rest[2:]
        count = len(usecs) - len(usecs.lstrip("0123456789"))
        if 0 < count <= 9:
            microseconds = int(usecs[:count])
    return seconds, microseconds, name


def parse_uidlist(data: bytes) -> UidList:
    """The list in `data` (versions 1, 2 and 3); UidListError if it is not one."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    # Only "\n" ends a line: str.splitlines would also split on "\r", "\x1c", …,
    # which are legal in file names. The last piece is "" after a final line end;
    # otherwise it is a record still being appended (or torn by a crash): not read,
    # as Dovecot reads only whole lines. A header alone without its end is still read.
    if len(lines) > 1 or lines == [""]:
        lines.pop()
    if not lines:
        raise UidListError("the file is empty: no header line")
    version, _, header = lines[0].partition(" ")
    if version == "3":
        uidlist = _parse_v3_header(header)
    elif version in ("1", "2"):
        uidlist = _parse_v1_header(header)
    else:
        raise UidListError(f"line 1: unknown uidlist version {version!r}")
    uidlist.version = int(version)
    _add_records(uidlist, lines[1:], 2)
    return uidlist


def extend_uidlist(uidlist: UidList, appended: bytes) -> UidList:
    """A new list: `uidlist` and the records in `appended`, what was added at the end of
    its file since it was read (whole lines only, as `parse_uidlist` reads them); a
    reader that saw the file grow parses the new lines rather than the whole file.
    UidListError as `parse_uidlist` (line numbers counted as if nothing was dropped)."""
    lines = appended.decode("utf-8", "surrogateescape").split("\n")
    lines.pop()  # "" after the last line end, or a record still being written
    grown = UidList(
        uidlist.uidvalidity,
        uidlist.next_uid,
        uidlist.header_extensions,
        list(uidlist.records),
        uidlist.version,
    )
    _add_records(grown, lines, len(uidlist.records) + 2)
    return grown


def _add_records(uidlist: UidList, lines: list[str], first_number: int) -> None:
    """Parse record `lines` (the first is line `first_number` of the file) onto `uidlist`."""
    previous = uidlist.records[-1].uid if uidlist.records else 0
    version = uidlist.version
    for number, line in enumerate(lines, start=first_number):
        if version == 3:
            record = _parse_v3_record(line, number)
        else:
            record = _parse_v1_record(line, number, with_flags=version == 2)
        if record.uid <= previous:
            raise UidListError(f"line {number}: UID {record.uid} is not above {previous}")
        if record.name in uidlist._by_name:
            raise UidListError(f"line {number}: {record.name!r} is listed twice")
        previous = record.uid
        uidlist.records.append(record)
        uidlist._by_name[record.name] = record
    # Dovecot appends records without rewriting N (see the module docstring).
    uidlist.next_uid = max(uidlist.next_uid, previous + 1)


def format_uidlist(uidlist: UidList) -> bytes:
    """The file Dovecot 2.3 would write for `uidlist` (version 3)."""
    header = [f"3 V{uidlist.uidvalidity} N{uidlist.next_uid}"]
    header += [f" {key}{value}" for key, value in uidlist.header_extensions]
    body = "\n".join(uidlist.record_lines())
    text = "".join(header) + "\n" + (body + "\n" if body else "")
    return text.encode("utf-8", "surrogateescape")


def read_uidlist(directory: Path) -> UidList | None:
    """The folder's list, or None if it has no `dovecot-uidlist` yet."""
    try:
        data = (directory / FILE_NAME).read_bytes()
    except FileNotFoundError:
        return None
    return parse_uidlist(data)


def write_uidlist(lock: DotLock, uidlist: UidList) -> None:
    """Replace the folder's `dovecot-uidlist` atomically; `lock` is its held dotlock."""
    lock.replace(format_uidlist(uidlist))
    uidlist.version = 3


def append_records(directory: Path, records: Iterable[UidRecord], expected_size: int) -> bool:
    """Add `records` at the end of the folder's `dovecot-uidlist`, durably, as Dovecot
    does for new messages (the header's N is left as it is: readers take the larger of
    N and the last UID + 1). The caller holds the uidlist lock and read the file at
    `expected_size` bytes. False, with nothing written, when the file is not that file
    any more or does not end with a line end (a torn append): then it is rewritten.

    One fdatasync instead of writing the whole list into the lock file, fsyncing it,
    renaming it and fsyncing the directory: an APPEND's costliest step under load."""
    data = "".join(record_line(record) + "\n" for record in records)
    try:
        fd = os.open(directory / FILE_NAME, os.O_RDWR | os.O_APPEND)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        if size != expected_size or size == 0 or os.pread(fd, 1, size - 1) != b"\n":
            return False
        view = memoryview(data.encode("utf-8", "surrogateescape"))
        while view:
            view = view[os.write(fd, view) :]
        os.fdatasync(fd)
        return True
    finally:
        os.close(fd)


def uidlist_lock(directory: Path, *, wait: float = LOCK_WAIT_SECONDS) -> DotLock:
    """The dotlock Dovecot takes before changing the folder's `dovecot-uidlist`."""
    return DotLock(directory / FILE_NAME, wait=wait)


class DotLock:
    """A Dovecot-style dotlock `<file>.lock`, used as a context manager.

    The lock is the existence of the lock file (O_EXCL makes creating it
    atomic, also over NFS v3+). `replace(data)` writes the new contents of
    the guarded file into the lock file and renames it into place, as
    Dovecot does; leaving the block without replacing removes the lock.
    Known gap, shared with Dovecot: two waiters that find the same stale
    lock at the same moment may both break it.

    While we hold a lock we also hold an flock() on it, which the kernel drops when
    the process dies: a lock left by a killed Mailroom is broken once it is
    ORPHAN_SECONDS old, not after the whole STALE_LOCK_SECONDS (Dovecot's locks carry
    no flock, and it holds them for milliseconds, never that long).
    """

    def __init__(
        self, target: Path, *, wait: float = LOCK_WAIT_SECONDS, stale: float = STALE_LOCK_SECONDS
    ) -> None:
        self.target = target
        self.path = target.with_name(target.name + LOCK_SUFFIX)
        self.wait = wait
        self.stale = stale
        self._fd: int | None = None

    def __enter__(self) -> DotLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        for delay in _backoff(self.wait):
            try:
                self._fd = os.open(
                    self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
                )
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except FileExistsError:
                self._break_if_stale()
            time.sleep(delay)
        raise LockTimeout(f"{self.path} is held by another process; if none is running, remove it")

    def replace(self, data: bytes) -> None:
        """Make `data` the guarded file's contents, durably; this releases the lock."""
        if self._fd is None:
            raise RuntimeError("replace() needs the lock held")
        fd, self._fd = self._fd, None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(self.path, self.target)
        fsync_directory(self.target.parent)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # Only remove the lock if it is still ours (a waiter may have judged it stale).
            if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                self.path.unlink()
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def _break_if_stale(self) -> None:
        try:
            age = time.time() - os.stat(self.path).st_mtime
        except FileNotFoundError:
            return
        if age > self.stale or (age > ORPHAN_SECONDS and not _flocked(self.path)):
            # As Dovecot does: a lock nobody touched for this long belongs to a dead process.
            self.path.unlink(missing_ok=True)


ORPHAN_SECONDS = 3.0
"""Age after which a lock whose holder has no flock on it is taken to be a dead one's."""


def _flocked(path: Path) -> bool:
    """Whether a living process holds an flock() on the lock file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _backoff(total: float) -> Iterator[float]:
    """Delays that sum to about `total` seconds, short at first (the lock is usually brief)."""
    deadline = time.monotonic() + total
    delay = 0.001
    yield 0.0
    while time.monotonic() < deadline:
        yield delay
        delay = min(delay * 2, 0.05)


def _number(text: str, what: str, number: int, *, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise UidListError(f"line {number}: {what} {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise UidListError(f"line {number}: {what} {value} is out of range")
    return value


def _fields(text: str, number: int) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for token in text.split(" "):
        if not token:
            raise UidListError(f"line {number}: an empty field (two spaces in a row?)")
        fields.append((token[0], token[1:]))
    return fields


def _parse_v3_header(header: str) -> UidList:
    values: dict[str, str] = {}
    extensions: list[tuple[str, str]] = []
    for key, value in _fields(header, 1) if header else []:
        if key in values or any(key == seen for seen, _ in extensions):
            raise UidListError(f"line 1: header field {key!r} appears twice")
        if key in _EXTENSION_KEYS_WE_OWN:
            values[key] = value
        else:
            _check_field(key, value, 1)
            extensions.append((key, value))
    if "V" not in values or "N" not in values:
        raise UidListError("line 1: the header lacks V (UIDVALIDITY) or N (next UID)")
    return UidList(
        _number(values["V"], "UIDVALIDITY", 1, low=1, high=MAX_UIDVALIDITY),
        _number(values["N"], "next UID", 1, low=1, high=MAX_UID + 1),
        tuple(extensions),
    )


def _parse_v1_header(header: str) -> UidList:
    parts = header.split(" ")
    if len(parts) != 2:
        raise UidListError("line 1: a version 1 header is '1 <uidvalidity> <nextuid>'")
    return UidList(
        _number(parts[0], "UIDVALIDITY", 1, low=1, high=MAX_UIDVALIDITY),
        _number(parts[1], "next UID", 1, low=1, high=MAX_UID + 1),
    )


def _parse_v3_record(line: str, number: int) -> UidRecord:
    uid_text, space, rest = line.partition(" ")
    if not space:
        raise UidListError(f"line {number}: no ' :<filename>' after the UID")
    uid = _number(uid_text, "UID", number, low=1, high=MAX_UID)
    extensions: list[tuple[str, str]] = []
    while not rest.startswith(":"):
        token, space, rest = rest.partition(" ")
        if not space or not token:
            raise UidListError(f"line {number}: no ' :<filename>' after the fields")
        _check_field(token[0], token[1:], number)
        extensions.append((token[0], token[1:]))
    name = rest[1:]
    _check_name(name, number)
    return UidRecord(uid, name, tuple(extensions))


def _parse_v1_record(line: str, number: int, *, with_flags: bool) -> UidRecord:
    parts = line.split(" ", 2 if with_flags else 1)
    if len(parts) != (3 if with_flags else 2):
        raise UidListError(f"line {number}: a record is '<uid> <filename>'")
    uid = _number(parts[0], "UID", number, low=1, high=MAX_UID)
    _check_name(parts[-1], number)
    return UidRecord(uid, parts[-1])


def _check_field(key: str, value: str, number: int) -> None:
    if key == ":" or " " in value or "\n" in key + value:
        raise UidListError(f"line {number}: field {key + value!r} cannot be stored")


def _check_name(name: str, number: int | None = None) -> None:
    where = f"line {number}: " if number is not None else ""
    if not name or "\n" in name or "/" in name or "\0" in name:
        raise UidListError(f"{where}{name!r} is not a Maildir file name")
