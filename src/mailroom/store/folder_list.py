"""An account's folder list for LIST and LSUB, and a cache of it per account.

LIST is among the commands clients send most (many on every connection, some on
every poll), and making the list means listing the Maildir's root, a stat() per
folder, and reading `subscriptions` and `mailroom-special-use`. What it is made
of changes rarely: `FolderLists` keeps each account's last list while the root
directory and those two files keep their stamp (mtime, inode, size; three stat()
calls, cheap enough for the event loop). Creating, deleting or renaming a folder
changes the root's mtime; the two files are replaced whole when they change; this
process's own changes also drop the entry at once (`forget`). A list made while
one of them had just changed is not kept: a second change in the same clock tick
would leave the stamp as it was (as folder_sync.py reasons). One thing a stamp
cannot see is a folder directory losing its cur/ and new/ by hand; the list then
shows it selectable until the next change of the account's folders.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from mailroom.store.events import DiskStamp
from mailroom.store.folder_names import FolderNames
from mailroom.store.folder_sync import changed_recently
from mailroom.store.maildir import INBOX, FolderNameError
from mailroom.store.special_use import (
    DEFAULT_NAMES,
    NameLists,
    attributes_of,
    read_special_use,
)
from mailroom.store.special_use import FILE_NAME as SPECIAL_USE_FILE
from mailroom.store.subscriptions import FILE_NAME as SUBSCRIPTIONS_FILE
from mailroom.store.subscriptions import read_subscriptions

log = logging.getLogger(__name__)

KEPT_ACCOUNTS = 10_000
"""Accounts whose folder list is kept (the least recently listed are dropped first)."""


@dataclass(frozen=True)
class FolderInfo:
    """One line of LIST: a name, its attributes, and whether it can be selected."""

    name: str
    attributes: frozenset[str]
    """E.g. {"\\HasNoChildren", "\\Sent", "\\Subscribed"}."""
    subscribed: bool
    selectable: bool


class FolderLists:
    """The folder lists of this process's accounts, each kept while its stamp holds."""

    def __init__(self, size: int = KEPT_ACCOUNTS) -> None:
        self.size = size
        self._kept: OrderedDict[Path, tuple[DiskStamp, list[FolderInfo]]] = OrderedDict()

    def get(self, root: Path) -> list[FolderInfo] | None:
        """The kept list of the account at `root`, if nothing it was made of changed."""
        entry = self._kept.get(root)
        if entry is None:
            return None
        if entry[0] != list_stamp(root):
            del self._kept[root]
            return None
        self._kept.move_to_end(root)
        return entry[1]

    def keep(self, root: Path, stamp: DiskStamp, folders: list[FolderInfo]) -> None:
        """Keep `folders`, made after reading `stamp`, unless the stamp is too fresh."""
        if changed_recently(stamp, time.time()):
            return
        self._kept[root] = (stamp, folders)
        self._kept.move_to_end(root)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, root: Path) -> None:
        """This process changed the account's folders or subscriptions."""
        self._kept.pop(root, None)


def list_stamp(root: Path) -> DiskStamp:
    """(mtime_ns, inode, size) of the root directory and the two files a list reads."""
    stamp = []
    for path in (root, root / SUBSCRIPTIONS_FILE, root / SPECIAL_USE_FILE):
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            stamp.append((0, 0, 0))
            continue
        stamp.append((info.st_mtime_ns, info.st_ino, info.st_size))
    return tuple(stamp)


def list_folders(
    root: Path, names: FolderNames, special_use: NameLists = DEFAULT_NAMES
) -> tuple[DiskStamp, list[FolderInfo]]:
    """Every folder (INBOX first), missing parents, and subscribed names with no folder;
    with the stamp read before anything else (see `FolderLists.keep`). SPECIAL-USE
    comes from the recorded choices and the `special_use` name lists (special_use.py)."""
    stamp = list_stamp(root)
    directories = folder_directories(root)
    by_name: dict[str, str] = {}  # name → directory
    for directory in directories:
        try:
            by_name[names.name(directory)] = directory
        except FolderNameError as error:
            log.info("%s: skipping folder directory %r: %s", root, directory, error)
    selectable = {name for name, d in by_name.items() if is_folder(root / d)}
    selectable.add(INBOX)
    every = set(by_name) | {INBOX}
    for name in list(every):
        parent = names.parent(name)
        while parent is not None and parent not in every:
            every.add(parent)
            parent = names.parent(parent)
    subscribed = set(subscribed_names(root, names))
    special = attributes_of({d: n for n, d in by_name.items()}, read_special_use(root), special_use)
    sep = names.separator
    result: list[FolderInfo] = []
    for name in sorted(every | subscribed, key=lambda n: (n != INBOX, n)):
        attributes: set[str] = set()
        exists = name in every
        if not exists:
            attributes.add("\\NonExistent")
        elif name not in selectable:
            attributes.add("\\Noselect")
        if exists:
            has_children = any(other.startswith(name + sep) for other in every)
            attributes.add("\\HasChildren" if has_children else "\\HasNoChildren")
        if name in subscribed:
            attributes.add("\\Subscribed")
        stored_as = by_name.get(name)
        if stored_as is not None and stored_as in special:
            attributes.add(special[stored_as])
        result.append(
            FolderInfo(name, frozenset(attributes), name in subscribed, name in selectable)
        )
    return stamp, result


def subscribed_names(root: Path, names: FolderNames) -> list[str]:
    found = []
    for levels in read_subscriptions(root):
        try:
            found.append(names.normalize(names.separator.join(levels)))
        except FolderNameError:
            continue
    return found


def is_folder(path: Path) -> bool:
    """A Maildir folder as Dovecot sees one: a directory with cur/ or new/ (a folder that
    Dovecot created but never opened may have only new/ and its uidlist)."""
    return (path / "cur").is_dir() or (path / "new").is_dir()


def folder_directories(root: Path) -> list[str]:
    try:
        with os.scandir(root) as entries:
            return sorted(
                entry.name
                for entry in entries
                if entry.name.startswith(".")
                and entry.name not in (".", "..")
                and entry.is_dir(follow_symlinks=False)
            )
    except FileNotFoundError:
        return []
