"""The file work behind a folder's changes: flags renamed into file names, files
unlinked, each relative to an open directory (the kernel walks no path for each of
thousands of files); and `NewFile`, a file on its way into the folder (writing.py).

The bookkeeping around them (UIDs, modseqs, the index, the snapshot) is
folder_state.py's; these functions touch only the disk, and are called with its
lock held.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Literal

from mailroom.store.filename import INFO_SEPARATOR, file_name
from mailroom.store.flags import SYSTEM_FLAGS, FlagDecoder, info_letters
from mailroom.store.snapshot import MessageInfo

FlagMode = Literal["set", "add", "remove"]
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_SYSTEM = frozenset(SYSTEM_FLAGS.values())
UNLINK_THREADS = 4
"""Threads that unlink the files of one large removal at once (see `unlink_messages`)."""
UNLINK_IN_THREADS_FROM = 64
"""Fewer files than this are unlinked by the calling thread alone."""


@dataclass(frozen=True, slots=True)
class NewFile:
    """A message file ready to become a message of the folder: in tmp/, named `base`;
    or, when `placed`, already in new/ or cur/ under its final name (a hard link, which
    appears whole at once, as a file written in tmp/ and renamed does)."""

    path: str
    base: str
    info: str | None
    """Flag letters; None puts the message into new/ (it is then \\Recent)."""
    internaldate: float | None
    stored_size: int
    size: int
    dated: bool = False
    """The file's mtime is already `internaldate` (a link to the original, for a copy)."""
    placed: bool = False

    @property
    def file_name(self) -> str:
        """Its name in new/ (no flags) or cur/."""
        return file_name(self.base, self.info)


class Directories:
    """Directories opened once for a batch of file operations (reads, links): names
    relative to them spare the kernel a walk of the whole path each time. Closing (or
    leaving the `with` block) closes them all."""

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}
        self._folders: dict[tuple[Path, bool], int] = {}
        """The same, by (folder, in new/): no path joined for each of thousands of files."""

    def open(self, path: str | Path) -> int:
        """The open directory at `path`; FileNotFoundError if it is gone."""
        key = os.fspath(path)
        fd = self._fds.get(key)
        if fd is None:
            fd = self._fds[key] = os.open(key, DIRECTORY_FLAGS)
        return fd

    def fd(self, folder: Path, recent: bool) -> int:
        """The open new/ (recent) or cur/ of `folder`."""
        key = (folder, recent)
        fd = self._folders.get(key)
        if fd is None:
            fd = self._folders[key] = self.open(os.path.join(folder, "new" if recent else "cur"))
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._folders.clear()

    def __enter__(self) -> Directories:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def positions_of(present: array[int], uids: list[int]) -> Iterable[int]:
    """Where `uids` (sorted) are in `present` (a snapshot's UIDs); those it has."""
    if len(uids) == len(present) and array("I", uids).tobytes() == present.tobytes():
        return range(len(present))  # the whole folder (1:*): no search
    positions = []
    position = 0
    for uid in uids:
        # `uids` is sorted: search forward from the last position.
        position = bisect_left(present, uid, position)
        if position < len(present) and present[position] == uid:
            positions.append(position)
    return positions


def rename_for_flags(
    folder: Path,
    messages: Sequence[MessageInfo],
    decoder: FlagDecoder,
    positions: Iterable[int],
    mode: FlagMode,
    system: frozenset[str],
    keywords: frozenset[str],
    unchangedsince: int | None,
    modseq: int,
    failed: list[int],
) -> tuple[list[tuple[int, MessageInfo]], list[int]]:
    """Rename the files of `messages` at these `positions` (ascending) to carry their
    new flags; ((position, changed message) pairs, UIDs whose file
    had gone). A UID modified since `unchangedsince` goes to `failed`.

    A folder has a few dozen distinct flag strings: the new info for each is
    worked out once, so the loop is mostly the rename system calls.
    """
    mapping, flags_of = decoder.mapping, decoder.flags
    outcome: dict[str, tuple[str, frozenset[str]] | None] = {}
    updated: list[tuple[int, MessageInfo]] = []
    retry: list[int] = []
    rename = os.rename
    # Names relative to open directories: the kernel need not walk the whole path
    # twice for each of thousands of renames.
    with Directories() as directories:
        cur, new = _messages_directories(directories, folder)
        for position in positions:
            message = messages[position]
            uid = message.uid
            if unchangedsince is not None and message.modseq > unchangedsince:
                failed.append(uid)  # RFC 7162 §3.1.3: MODIFIED
                continue
            old_info = message.info
            if old_info in outcome:
                result = outcome[old_info]
            else:
                wanted = apply_mode(message.flags, mode, system, keywords)
                if wanted == message.flags:
                    result = None
                else:
                    info = info_letters(old_info, wanted & _SYSTEM, wanted - _SYSTEM, mapping)
                    result = (info, flags_of(info))
                outcome[old_info] = result
            if result is None:
                continue
            info, new_flags = result
            name = f"{message.base_name}{INFO_SEPARATOR}{info}"
            try:
                rename(
                    message.file_name,
                    name,
                    src_dir_fd=new if message.recent else cur,
                    dst_dir_fd=cur,
                )
            except FileNotFoundError:
                retry.append(uid)
                continue
            updated.append(
                (
                    position,
                    MessageInfo(
                        uid,
                        new_flags,
                        modseq,
                        message.size,
                        message.internaldate,
                        False,
                        message.base_name,
                        name,
                        info,
                        message.stored_size,
                        message.folder,
                    ),
                )
            )
    return updated, retry


def unlink_messages(
    folder: Path, messages: list[MessageInfo]
) -> tuple[list[MessageInfo], list[int]]:
    """Delete the files of `messages`; (those deleted, UIDs whose file had gone).

    Many files are unlinked by UNLINK_THREADS threads at once. The kernel frees a
    file's inode and blocks once its last name is gone, and on ext4 that joins the
    journal, waiting while other processes' fsyncs commit it: one thread at a time,
    unlinking 2,000 fsynced 6.5 KB files took 2.9 to 4.6 s on this project's shared
    bench machine, four threads 0.13 to 0.6 s; a POP3 QUIT of 2,000 messages went from
    Dovecot's time to a quarter of it or less (bench/README.md, issue #19). The caller
    fsyncs the directories after all of them, as before."""
    removed: list[MessageInfo] = []
    gone: list[int] = []
    if not messages:
        return removed, gone
    with Directories() as directories:
        cur, new = _messages_directories(directories, folder)
        if len(messages) < UNLINK_IN_THREADS_FROM:
            unlinked = _unlink(cur, new, messages)
        else:
            size = -(-len(messages) // UNLINK_THREADS)
            chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
            with ThreadPoolExecutor(len(chunks), thread_name_prefix="unlink") as pool:
                unlinked = [
                    done
                    for part in pool.map(_unlink, repeat(cur), repeat(new), chunks)
                    for done in part
                ]
    for message, done in zip(messages, unlinked, strict=True):
        if done:
            removed.append(message)
        else:
            gone.append(message.uid)
    return removed, gone


def _unlink(cur: int, new: int, messages: Sequence[MessageInfo]) -> list[bool]:
    """Unlink each message's file; per message, whether it was still there."""
    done: list[bool] = []
    for message in messages:
        try:
            os.unlink(message.file_name, dir_fd=new if message.recent else cur)
            done.append(True)
        except FileNotFoundError:
            done.append(False)
    return done


def _messages_directories(directories: Directories, folder: Path) -> tuple[int, int]:
    """cur/ and new/ of `folder`, open; cur/ twice when new/ is missing (nothing in it)."""
    cur = directories.open(os.path.join(folder, "cur"))
    try:
        return cur, directories.open(os.path.join(folder, "new"))
    except FileNotFoundError:
        return cur, cur


def apply_mode(
    current: frozenset[str], mode: FlagMode, system: frozenset[str], keywords: frozenset[str]
) -> frozenset[str]:
    given = system | keywords
    if mode == "set":
        return given
    if mode == "add":
        return current | given
    return current - given
