"""Writing into a Maildir++ the way Dovecot does: new messages and folders.

This module only adds to a mailbox; reading, flags, `dovecot-uidlist` and
the index belong to the IMAP side. The layout is Dovecot's Maildir++:

    Maildir/             INBOX: cur/ new/ tmp/ (mode 0700)
      .Sent/             a folder: cur/ new/ tmp/ and an empty `maildirfolder`
      .Lists.Python/     the folder "Lists.Python": '.' separates levels on disk
      .Entw&APw-rfe/     "Entwürfe": names are stored in IMAP modified UTF-7

Delivery (the Maildir protocol, hardened as Dovecot does): the message is
written to `tmp/<unique>` with line endings converted CRLF→LF (Dovecot
stores LF and adds the CRs back when serving), fsynced, then linked to
`new/<unique>,S=<stored size>,W=<size with CRLF>` and `new/` is fsynced.
Only after that is it delivered: a crash before leaves at most a stray file
in `tmp/`, which Dovecot cleans after 36 hours. A mailbox created by the
delivery has each new directory fsynced into its parent, so a power cut
cannot take away the directory that holds a delivered message.

File names are filename.py's (Dovecot's grammar).

Everything here is blocking; the async entry point runs it in a thread.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailroom.durable import fsync_directory, make_directory
from mailroom.store import mutf7
from mailroom.store.filename import base_name, unique_name

INBOX = "INBOX"
SEPARATOR = "."
"""Hierarchy separator of folder names, as Dovecot's Maildir++ layout uses."""
CHUNK = 64 * 1024
NAME_MAX = 255


class FolderNameError(ValueError):
    """A folder name that cannot be stored; the message says why."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def folder_directory(name: str) -> str | None:
    """The directory of folder `name` inside the Maildir (None: INBOX, the Maildir itself).

    `name` uses '.' between levels ("Lists.Python"). Refused: empty names and
    empty levels (so no leading, trailing or doubled '.', hence no '..'),
    '/', control characters, names that are not valid Unicode, and names
    whose directory would be longer than 255 bytes.
    """
    if name.upper() == INBOX:
        return None
    if not name:
        raise FolderNameError("a folder name cannot be empty")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FolderNameError(f"{name!r} is not valid Unicode") from None
    if "/" in name:
        raise FolderNameError(f"{name!r}: '/' cannot be part of a folder name")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name):
        raise FolderNameError(f"{name!r}: control characters cannot be part of a folder name")
    levels = name.split(SEPARATOR)
    if "" in levels:
        raise FolderNameError(
            f"{name!r}: a folder name cannot start or end with '.' or contain '..'"
        )
    if levels[0].upper() == INBOX:
        levels[0] = INBOX
    directory = SEPARATOR + SEPARATOR.join(mutf7.encode(level) for level in levels)
    if len(directory.encode()) > NAME_MAX:
        raise FolderNameError(f"{name!r}: the folder name is too long")
    return directory


def folder_name(directory: str) -> str:
    """The folder name stored as `directory` (".Lists.Python" → "Lists.Python")."""
    if not directory.startswith(SEPARATOR) or directory in (".", ".."):
        raise FolderNameError(f"{directory!r} is not a Maildir++ folder directory")
    try:
        return mutf7.decode(directory[1:])
    except ValueError as error:
        raise FolderNameError(str(error)) from None


@dataclass(frozen=True)
class TmpMessage:
    """A message written and fsynced in `tmp/`, not yet delivered."""

    path: Path
    name: str
    size: int
    """Bytes on disk (LF line endings): Dovecot's S=."""
    virtual_size: int
    """Bytes with CRLF line endings, as IMAP clients see it: Dovecot's W=."""


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


class Maildir:
    """One Maildir++ mailbox (an account's root) or one of its folders."""

    def __init__(self, root: Path, *, hostname: str | None = None, is_folder: bool = False) -> None:
        self.root = root
        self.hostname = hostname or socket.gethostname()
        self.is_folder = is_folder

    def __repr__(self) -> str:
        return f"Maildir({str(self.root)!r})"

    def exists(self) -> bool:
        return all((self.root / sub).is_dir() for sub in ("cur", "new", "tmp"))

    def create(self) -> None:
        """Create cur/, new/ and tmp/ (and missing parents), durably; nothing if they exist."""
        if self.exists():
            return
        for sub in ("cur", "new", "tmp"):
            make_directory(self.root / sub)

    def folder(self, name: str) -> Maildir:
        """The folder `name` of this mailbox ("INBOX" is the mailbox itself)."""
        if self.is_folder:
            raise FolderNameError("folders belong to the account's Maildir, not to a folder")
        directory = folder_directory(name)
        if directory is None:
            return self
        return Maildir(self.root / directory, hostname=self.hostname, is_folder=True)

    def create_folder(self, name: str) -> Maildir:
        """Create folder `name` (and the mailbox) if missing, as Dovecot does; return it."""
        folder = self.folder(name)
        self.create()
        if folder is not self and not folder.exists():
            folder.create()
            marker = folder.root / "maildirfolder"
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            fsync_directory(folder.root)
        return folder

    def write_tmp(self, source: Readable, *, prefix: bytes = b"") -> TmpMessage:
        """Copy `prefix` and then `source` (to its end) into `tmp/`, fsynced; CRLF→LF."""
        self.create()
        converter = _CrlfToLf()
        while True:
            name = unique_name(self.hostname)
            path = self.root / "tmp" / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            break
        try:
            with open(fd, "wb", buffering=CHUNK) as file:
                file.write(converter.feed(prefix))
                while chunk := source.read(CHUNK):
                    file.write(converter.feed(chunk))
                file.write(converter.end())
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return TmpMessage(path, name, converter.size, converter.size + converter.newlines)

    def publish(self, message: TmpMessage) -> Path:
        """Move a message from tmp/ to new/ under its final name; durable when this returns."""
        target = self.root / "new" / base_name(message.name, message.size, message.virtual_size)
        try:
            # link, not rename: an existing message of the same name is never replaced.
            os.link(message.path, target)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                raise
            if target.exists():
                raise
            # File systems without hard links (some FUSE and network ones).
            os.rename(message.path, target)
        fsync_directory(self.root / "new")
        message.path.unlink(missing_ok=True)
        return target

    def discard(self, message: TmpMessage) -> None:
        message.path.unlink(missing_ok=True)

    def deliver(self, source: Readable, *, prefix: bytes = b"") -> Path:
        """Deliver a message into new/; return its path once it is on stable storage."""
        message = self.write_tmp(source, prefix=prefix)
        try:
            return self.publish(message)
        except BaseException:
            self.discard(message)
            raise
