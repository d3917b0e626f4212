"""Building every folder's index before the switch-over (`mailroom import legacy --index`).

A folder's first SELECT in Mailroom builds its SQLite index (store/index.py): each
message's file is stat()ed, and read whole when neither its name nor `dovecot-uidlist`
gives its RFC822.SIZE. For a large legacy folder that is the slow part of a member's
first login. `index_folder` does that work beforehand, through the very code a SELECT
runs (`FolderState.open`), and leaves the index as the server will find it.

The index is a cache; Dovecot's files are not. Opening a folder would number files that
`dovecot-uidlist` does not list yet (mail delivered since Dovecot last looked), which
writes that file: here such a folder is left for the member's first login instead
(`NotNumbered`), so the import changes nothing Dovecot reads.

Most of a small folder's time is SQLite creating its index file (the WAL, the schema, the
fsyncs at close), which waits on the disk, not the CPU: `index_folders` builds
`THREADS` folders at once (measured: 300 folders of 33 messages in 21 s one at a time,
1.9 s eight at a time). Each folder is one FolderState of its own, as in the server.
Blocks: run it in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from mailroom.store.folder_list import folder_directories, is_folder
from mailroom.store.folder_state import FolderState
from mailroom.store.folder_uids import FolderUids
from mailroom.store.uidlist import LOCK_WAIT_SECONDS, UidList

THREADS = 8
"""Folders indexed at once (module docstring)."""


class NotNumbered(Exception):
    """The folder has files that `dovecot-uidlist` gives no UID yet."""


class _ReadOnlyUids(FolderUids):
    """A folder's UIDs as `dovecot-uidlist` has them, never written."""

    def number_all(self) -> UidList:
        raise NotNumbered

    def number_new(self, bases: Iterable[str]) -> UidList:
        raise NotNumbered


@dataclass(frozen=True)
class FolderIndexed:
    path: Path
    messages: int
    """Messages in the index; -1 when the folder was left for the first login."""
    reason: str = ""


def folders_of(maildir: Path) -> Iterator[Path]:
    """The folder directories of a Maildir++ mailbox: its root (INBOX), then each
    `.Folder` that is a folder (store/folder_list.py's rule)."""
    if is_folder(maildir):
        yield maildir
    for name in folder_directories(maildir):
        if is_folder(maildir / name):
            yield maildir / name


def index_folder(path: Path) -> FolderIndexed:
    """Build (or bring up to date) the index of the folder directory `path`."""
    state = FolderState(path, lock_wait=LOCK_WAIT_SECONDS)
    state.uids = _ReadOnlyUids(path, lock_wait=LOCK_WAIT_SECONDS)
    try:
        if state.uids.read() is None:
            return FolderIndexed(path, -1, "no dovecot-uidlist yet: indexed at first login")
        state.open()
        state.flush_index()
        return FolderIndexed(path, len(state.snapshot.messages))
    except NotNumbered:
        return FolderIndexed(
            path, -1, "messages dovecot-uidlist does not number yet: indexed at first login"
        )
    finally:
        state.close()


def index_folders(
    folders: Iterable[Path], advance: Callable[[FolderIndexed], None] = lambda _: None
) -> list[FolderIndexed]:
    """`index_folder` of each folder, `THREADS` at a time; `advance` after each one (in
    this thread). The results in the order the folders finished."""
    done: list[FolderIndexed] = []
    with ThreadPoolExecutor(THREADS, thread_name_prefix="index") as pool:
        for future in as_completed([pool.submit(index_folder, folder) for folder in folders]):
            result = future.result()
            done.append(result)
            advance(result)
    return done
