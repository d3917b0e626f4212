"""Putting messages into a folder: the store's one write path.

Local delivery (delivery/local.py; `Maildir.deliver` is the plainest use), IMAP
APPEND, COPY and MOVE (mailbox.py) all add messages to a folder through
`FolderWriter`, so the order of the steps, the file names, the quota and the change
events are decided here and nowhere else:

1. The quota (Maildir++, quota.py) is checked before anything is written when every
   size is known in advance (APPEND's literals, COPY's files), else once the messages
   are in tmp/ with their stored size (a delivery's stream). A MOVE is not checked:
   the originals go. QuotaExceeded leaves nothing behind.
2. A new message is written to `tmp/<unique>` with line ends converted CRLF→LF
   (Dovecot stores LF and adds the CRs back when serving) and fsynced. A copy is a
   hard link of the original, a move a rename, straight into new/ or cur/ under its
   final name: either appears whole at once and keeps the original's mtime (the
   internal date). Where the file system cannot link or rename across, the bytes are
   copied through tmp/ and fsynced.
3. Files in tmp/ get their date as mtime when they will be numbered now (the index
   must agree with what a rebuilt one reads back) and are linked into new/ (no
   flags: the message is \\Recent) or cur/ (`:2,<flags>`), named by filename.py: a
   link never replaces an existing message. Then each directory that got a file is
   fsynced, once for all the messages, and only then do the tmp/ names go. A crash
   before leaves at most a file in tmp/, which Dovecot cleans after 36 hours; when
   `put` returns the messages are on stable storage (SMTP's 250, APPEND's OK).
4. In a folder open as a `Mailbox`, the messages get UIDs under the uidlist lock and
   enter its index and snapshot (folder_state.py). A delivery leaves that to the
   next sync of whoever opens the folder, as Dovecot's LDA may.
5. `maildirsize` gets the added bytes, and the folder's waiters (IDLE) are woken.

Everything here blocks: call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from mailroom.durable import make_directory
from mailroom.store.errors import QuotaExceeded
from mailroom.store.events import DiskStamp, MailboxEvents, disk_stamp
from mailroom.store.file_changes import DIRECTORY_FLAGS, Directories, NewFile
from mailroom.store.filename import INFO_SEPARATOR, base_name, new_base_names, unique_name
from mailroom.store.flags import SYSTEM_FLAG_SET, info_letters
from mailroom.store.keywords import Keywords
from mailroom.store.quota import Quota, check_quota, record_delivery
from mailroom.store.snapshot import MessageInfo

CHUNK = 64 * 1024
_LINK_UNSUPPORTED = (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK)
_RENAME_UNSUPPORTED = (errno.EXDEV,)
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Numbering(Protocol):
    """An open folder's state (folder_state.FolderState), which numbers placed files."""

    def add_placed(
        self, files: list[NewFile], dates: list[int], before: DiskStamp | None
    ) -> list[MessageInfo]: ...


@dataclass(frozen=True)
class NewMessage:
    """A message to write into the folder: its bytes (a stream read to its end, bytes,
    or a file to copy), its flags, its internal date (None: now), and bytes to put
    before it (a delivery's Return-Path and Delivered-To)."""

    source: Readable | bytes | Path
    system: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    internaldate: float | None = None
    prefix: bytes = b""


@dataclass
class Put:
    """What `FolderWriter` did: the files it added, in order, and for each the position
    of its message in the list given; for copies, the positions whose original had
    gone (renamed by another process: look again) and those renamed away (a move)."""

    files: list[NewFile] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    renamed: set[int] = field(default_factory=set)
    added: list[MessageInfo] = field(default_factory=list)
    """The messages as numbered, when the folder is open (`state`)."""

    @property
    def paths(self) -> list[Path]:
        return [Path(item.path) for item in self.files]


class FolderWriter:
    """Adds messages to one folder (an account's root, or one of its `.Folder`s)."""

    def __init__(
        self,
        folder: Path,
        *,
        hostname: str,
        quota: Quota | None = None,
        events: MailboxEvents | None = None,
        state: Numbering | None = None,
    ) -> None:
        self.folder = folder
        self.hostname = hostname
        self.quota = quota
        self.events = events
        self.state = state
        """The folder's open state, when it is open as a Mailbox: the messages are numbered."""

    # -- the two ways in --

    def put(
        self,
        messages: Sequence[NewMessage],
        keywords: Callable[[frozenset[str]], Keywords] | None = None,
    ) -> Put:
        """Write new messages: all of them, or (on any error) none. `keywords(wanted)`:
        the folder's keywords with `wanted` added (called once the quota allows)."""
        known = _sizes_known_in_advance(messages)
        if known is not None:
            self._check_quota(known)
        wanted = frozenset().union(*(message.keywords for message in messages))
        mapping = keywords(wanted) if wanted and keywords is not None else Keywords()
        done = Put()
        tmp = self.folder / "tmp"
        dated = self.state is None  # nobody numbers them now: the mtime may stay
        try:
            for position, message in enumerate(messages):
                info = None
                if message.system or message.keywords:
                    info = info_letters("", message.system, message.keywords, mapping) or None
                path, stored_size, size = _write_tmp(
                    tmp, self.hostname, message.source, message.prefix
                )
                done.files.append(
                    NewFile(
                        path,
                        base_name(os.path.basename(path), stored_size, size),
                        info,
                        message.internaldate,
                        stored_size,
                        size,
                        dated=dated and message.internaldate is None,
                    )
                )
                done.positions.append(position)
            if known is None:
                self._check_quota(sum(item.stored_size for item in done.files))
            before = self._stamp()
            dates = _place(self.folder, done.files)
        except BaseException:
            for item in done.files:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.path)
            raise
        self._finish(done, dates, before)
        return done

    def put_copies(
        self,
        sources: Sequence[MessageInfo],
        folder_keywords: Callable[[], Keywords],
        *,
        moving: bool,
    ) -> Put:
        """Copy (link) or, `moving`, rename these messages of other folders into this one,
        with their flags (the keywords that `folder_keywords()` has a letter for: called
        once the quota allows) and dates."""
        if not moving:
            self._check_quota(sum(m.stored_size for m in sources))
        # Nothing else of ours changes this folder meanwhile (the folder's operations
        # run one at a time): what changes from here is ours (FolderState._own_change).
        before = self._stamp()
        mapping = folder_keywords()
        transfer = os.rename if moving else os.link
        unsupported = _RENAME_UNSUPPORTED if moving else _LINK_UNSUPPORTED
        done = Put()
        items, positions, renamed = done.files, done.positions, done.renamed
        folder = os.fspath(self.folder)
        bases = new_base_names(self.hostname, [(m.stored_size, m.size) for m in sources])
        # Flags → letters in this folder, once per distinct set (a few dozen per folder).
        letters: dict[tuple[str, frozenset[str]], str | None] = {}
        try:
            with Directories() as directories:
                tmp = directories.open(os.path.join(folder, "tmp"))
                # The target directory of each file (fd) and its path (with a final "/").
                into = {
                    sub: (directories.open(path), os.path.join(path, ""))
                    for sub, path in ((s, os.path.join(folder, s)) for s in ("new", "cur"))
                }
                tmp_prefix = os.path.join(folder, "tmp", "")
                for position, (message, base) in enumerate(zip(sources, bases, strict=True)):
                    key = (message.info, message.flags)
                    if key in letters:
                        info = letters[key]
                    else:
                        system = message.flags & SYSTEM_FLAG_SET
                        keywords = frozenset(
                            k for k in message.flags - SYSTEM_FLAG_SET if mapping.letter_for(k)
                        )
                        info = letters[key] = (
                            info_letters(message.info, system, keywords, mapping) or None
                        )
                    final = base if info is None else f"{base}{INFO_SEPARATOR}{info}"
                    source = directories.fd(message.folder, message.recent)
                    target, prefix = into["new" if info is None else "cur"]
                    try:
                        transfer(message.file_name, final, src_dir_fd=source, dst_dir_fd=target)
                        path, placed = prefix + final, True
                    except FileNotFoundError:
                        done.missing.append(position)
                        continue
                    except OSError as error:
                        if error.errno not in unsupported:
                            raise
                        try:
                            _copy_file(message.file_name, source, base, tmp)
                        except FileNotFoundError:
                            done.missing.append(position)
                            continue
                        path, placed = tmp_prefix + base, False
                    if placed and moving:
                        renamed.add(position)
                    items.append(
                        NewFile(
                            path,
                            base,
                            info,
                            message.internaldate.timestamp(),
                            message.stored_size,
                            message.size,
                            dated=placed,
                            placed=placed,
                        )
                    )
                    positions.append(position)
        except BaseException:
            # A renamed original must not be deleted: put it back where it was.
            for item, position in zip(items, positions, strict=True):
                with contextlib.suppress(OSError):
                    if position in renamed:
                        os.rename(item.path, sources[position].file_path)
                    else:
                        os.unlink(item.path)
            raise
        if items:
            self._finish(done, _place(self.folder, items), before)
        return done

    # -- the one way on --

    def _finish(self, done: Put, dates: list[int], before: DiskStamp | None) -> None:
        """The files are in place and durable: number them, count them, wake the waiters."""
        files = done.files
        for index, item in enumerate(files):
            if not item.placed:
                sub = "new" if item.info is None else "cur"
                files[index] = replace(
                    item, path=os.path.join(self.folder, sub, item.file_name), placed=True
                )
        if self.state is not None:
            done.added = self.state.add_placed(files, dates, before)
        self._record_usage(sum(item.stored_size for item in files), len(files))
        if self.events is not None:
            self.events.notify(self.folder)

    def _stamp(self) -> DiskStamp | None:
        """The folder's stamp before our changes, when its open state must learn them."""
        return disk_stamp(self.folder) if self.state is not None else None

    def _check_quota(self, size: int) -> None:
        quota = self.quota
        if quota is not None and not check_quota(quota.root, quota.limit_bytes, size):
            raise QuotaExceeded(
                f"the mailbox is full: {size} more bytes do not fit under {quota.limit_bytes}"
            )

    def _record_usage(self, size: int, count: int) -> None:
        if self.quota is not None and count:
            record_delivery(self.quota.root, size, count)


def _sizes_known_in_advance(messages: Sequence[NewMessage]) -> int | None:
    """The messages' size before writing, if every one is bytes or a file; else None."""
    total = 0
    for message in messages:
        source = message.source
        if isinstance(source, bytes):
            total += len(source)
        elif isinstance(source, Path):
            total += source.stat().st_size
        else:
            return None
    return total


class _CrlfToLf:
    """Turns CRLF into LF across chunk boundaries, counting what it writes."""

    def __init__(self) -> None:
        self._held_cr = False
        self.size = 0
        self.newlines = 0

    def feed(self, chunk: bytes) -> bytes:
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if chunk.endswith(b"\r"):
            # The LF that would make it a line ending may start the next chunk.
            chunk = chunk[:-1]
            self._held_cr = True
        return self._count(chunk.replace(b"\r\n", b"\n"))

    def end(self) -> bytes:
        held, self._held_cr = self._held_cr, False
        return self._count(b"\r" if held else b"")

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        self.newlines += data.count(b"\n")
        return data


def _write_tmp(
    tmp: Path, hostname: str, source: Readable | bytes | Path, prefix: bytes
) -> tuple[str, int, int]:
    """Copy `prefix` and then `source` (to its end) into `tmp/<unique>`, CRLF→LF,
    fsynced: (its path, its size on disk, its size with CRLF)."""
    converter = _CrlfToLf()
    while True:
        path = os.path.join(tmp, unique_name(hostname))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        except FileNotFoundError:
            make_directory(tmp)  # a folder another program made without tmp/
            continue
        break
    try:
        with open(fd, "wb", buffering=CHUNK) as file:
            file.write(converter.feed(prefix))
            if isinstance(source, bytes):
                file.write(converter.feed(source))
            else:
                with (
                    source.open("rb") if isinstance(source, Path) else nullcontext(source) as reader
                ):
                    while chunk := reader.read(CHUNK):
                        file.write(converter.feed(chunk))
            file.write(converter.end())
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return path, converter.size, converter.size + converter.newlines


def _place(folder: Path, files: list[NewFile]) -> list[int]:
    """Link the files from tmp/ into new/ or cur/ (those not `placed` there already), with
    their dates as mtimes where not `dated`, fsync each directory that got a file, then
    remove the tmp/ names; the dates, in order."""
    targets: dict[str, int] = {}
    dates: list[int] = []
    try:
        for item in files:
            sub = "new" if item.info is None else "cur"
            # IMAP dates have seconds; the mtime is what a rebuilt index reads back.
            date = int(time.time() if item.internaldate is None else item.internaldate)
            dates.append(date)
            target = targets.get(sub)
            if target is None:
                target = targets[sub] = os.open(os.path.join(folder, sub), DIRECTORY_FLAGS)
            if item.placed:
                continue
            if not item.dated:
                os.utime(item.path, (date, date))
            try:
                # A link, not a rename: an existing message of the same name is never replaced.
                os.link(item.path, item.file_name, dst_dir_fd=target)
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS or _exists(item.file_name, target):
                    raise
                # File systems without hard links (some FUSE and network ones).
                os.rename(item.path, item.file_name, dst_dir_fd=target)
        for target in targets.values():
            os.fsync(target)
    finally:
        for target in targets.values():
            os.close(target)
    for item in files:
        if not item.placed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(item.path)
    return dates


def _exists(name: str, directory: int) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _copy_file(source: str, source_dir: int, target: str, target_dir: int) -> None:
    """A durable copy of `source` (in `source_dir`) as `target` (in `target_dir`), where
    the file system cannot link."""
    with (
        open(os.open(source, os.O_RDONLY | os.O_CLOEXEC, dir_fd=source_dir), "rb") as reader,
        open(
            os.open(
                target,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                0o600,
                dir_fd=target_dir,
            ),
            "wb",
        ) as writer,
    ):
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())
