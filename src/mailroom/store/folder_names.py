"""Folder names as IMAP clients see them ↔ Maildir++ directories, safely.

Clients see Unicode names whose levels are separated by the configured
hierarchy separator ("." as Dovecot's Maildir++ default, or "/" as many
Dovecot set-ups configure): "Lists/Python". On disk the folder is always
the Maildir++ directory `.Lists.Python` below the account's root, each
level in IMAP modified UTF-7 as Dovecot writes it (`.Entw&APw-rfe`).
INBOX in any case is the root itself; its children are `.INBOX.child`.

A name comes from a client, so it is checked level by level before it is
allowed near a path, and refused with FolderNameError when it
- is empty, has an empty level (leading, trailing or doubled separator),
  or a level "." or ".." or starting with "~";
- holds the other separator: "/" (no directory name can hold it), or "."
  when "/" is the separator (a "." inside a level would make a new level
  on disk);
- holds control characters (C0, DEL, C1), the LIST wildcards "%" and "*",
  or is not valid Unicode;
- is longer than a directory name may be (255 octets, after encoding).
What is left maps to one directory name starting with "." and holding no
"/", so it is always an immediate child of the root: no name can reach
outside it (the hypothesis test in tests/store/test_account_names.py).
"""

from __future__ import annotations

from pathlib import Path

from mailroom.store import mutf7
from mailroom.store.maildir import INBOX, FolderNameError, folder_directory

SEPARATORS = (".", "/")
DISK_SEPARATOR = "."
MAX_NAME_OCTETS = 255


class FolderNames:
    """The mapping for one hierarchy separator."""

    def __init__(self, separator: str = ".") -> None:
        if separator not in SEPARATORS:
            raise ValueError(f"the hierarchy separator must be '.' or '/', not {separator!r}")
        self.separator = separator

    def levels(self, name: str) -> list[str]:
        """The checked levels of `name` (INBOX as the first level spelled "INBOX")."""
        if not name:
            raise FolderNameError("a folder name cannot be empty")
        if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_OCTETS:
            raise FolderNameError("the folder name is too long")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise FolderNameError(f"{name!r} is not valid Unicode") from None
        levels = name.split(self.separator)
        for level in levels:
            _check_level(name, level, self.separator)
        if levels[0].upper() == INBOX:
            levels[0] = INBOX
        return levels

    def normalize(self, name: str) -> str:
        """`name` checked, with INBOX spelled in capitals; a trailing separator dropped."""
        if len(name) > 1 and name.endswith(self.separator):
            # RFC 9051 §6.3.4: "foo/" declares the intent to create names under foo.
            name = name[:-1]
        return self.separator.join(self.levels(name))

    def directory(self, name: str) -> str | None:
        """The Maildir++ directory of `name` below the root; None for INBOX itself."""
        levels = self.levels(name)
        if levels == [INBOX]:
            return None
        directory = folder_directory(DISK_SEPARATOR.join(levels))
        if directory is None or "/" in directory or not directory.startswith("."):
            raise FolderNameError(f"{name!r} cannot be a folder name")  # pragma: no cover
        return directory

    def path(self, root: Path, name: str) -> Path:
        """The folder's directory; always `root` itself or an immediate child of it."""
        directory = self.directory(name)
        if directory is None:
            return root
        path = root / directory
        if path.parent != root or directory in (".", ".."):
            raise FolderNameError(f"{name!r} cannot be a folder name")  # pragma: no cover
        return path

    def name(self, directory: str) -> str:
        """The client's name of a Maildir++ directory (FolderNameError if it is none)."""
        if not directory.startswith(DISK_SEPARATOR) or directory in (".", ".."):
            raise FolderNameError(f"{directory!r} is not a Maildir++ folder directory")
        encoded = directory[1:].split(DISK_SEPARATOR)
        try:
            levels = [mutf7.decode(level) for level in encoded]
        except ValueError as error:
            raise FolderNameError(str(error)) from None
        name = self.separator.join(levels)
        return self.normalize(name)

    def parent(self, name: str) -> str | None:
        head, separator, _ = name.rpartition(self.separator)
        return head if separator else None

    def is_inside(self, name: str, ancestor: str) -> bool:
        return name.startswith(ancestor + self.separator)


def _check_level(name: str, level: str, separator: str) -> None:
    if not level:
        raise FolderNameError(
            f"{name!r}: a folder name cannot start or end with {separator!r} or hold it twice"
        )
    if level in (".", "..") or level.startswith("~"):
        raise FolderNameError(f"{name!r}: {level!r} cannot be part of a folder name")
    if "/" in level or (separator == "/" and "." in level):
        bad = "/" if "/" in level else "."
        raise FolderNameError(f"{name!r}: {bad!r} cannot be part of a folder name here")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in level):
        raise FolderNameError(f"{name!r}: control characters cannot be part of a folder name")
    if "%" in level or "*" in level:
        raise FolderNameError(f"{name!r}: the wildcards % and * cannot be part of a folder name")
