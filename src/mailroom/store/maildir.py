"""A Maildir++ mailbox as Dovecot lays it out: its folders, and where they are.

The layout is Dovecot's Maildir++:

    Maildir/             INBOX: cur/ new/ tmp/ (mode 0700)
      .Sent/             a folder: cur/ new/ tmp/ and an empty `maildirfolder`
      .Lists.Python/     the folder "Lists.Python": '.' separates levels on disk
      .Entw&APw-rfe/     "Entwürfe": names are stored in IMAP modified UTF-7

A mailbox or folder created here has each new directory fsynced into its parent,
so a power cut cannot take away the directory that holds a delivered message.
Messages go in through writing.py (the store's one write path; `Maildir.deliver`
is its plainest use); reading, flags, `dovecot-uidlist` and the index belong to
the IMAP side. Everything here blocks.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from mailroom.durable import CREATING, fsync_directory, make_directory
from mailroom.store import mutf7
from mailroom.store.writing import FolderWriter, NewMessage, Readable

INBOX = "INBOX"
SEPARATOR = "."
"""Hierarchy separator of folder names, as Dovecot's Maildir++ layout uses."""
NAME_MAX = 255


class FolderNameError(ValueError):
    """A folder name that cannot be stored; the message says why."""


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
        # Existing is not enough while a make_directory may be making them: it is
        # asked after (if it was busy, its directories may not be fsynced yet).
        if self.exists() and not CREATING.locked():
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

    def deliver(self, source: Readable, *, prefix: bytes = b"") -> Path:
        """Deliver a message into new/ (writing.py, without quota or events); its path
        once it is on stable storage. Creates the Maildir if it is missing."""
        self.create()
        message = NewMessage(source, prefix=prefix)
        (path,) = FolderWriter(self.root, hostname=self.hostname).put([message]).paths
        return path
