"""File operations that survive a power cut where they say so: the queue and the
mailbox store are built from these. All blocking: call them from a worker thread.
A room of its own because neither of its users may import the other (DESIGN.md)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Make the names in `directory` (creations, renames, removals) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_synced(path: Path, data: bytes) -> None:
    """Create or replace `path` with `data`, fsynced (its name is not: fsync the directory)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_all(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


CREATING = threading.Lock()
"""Held by `make_directory` from its first look to its last fsync. A directory is
visible as soon as mkdir returns, durable only once its parent is fsynced: a thread
that saw it made by another (two first deliveries into one new Maildir) and wrote
a message into it could answer 250 before that fsync (seen in tests/durability).
Looks at a directory tree that may be being made take it too (`Maildir.create`)."""


def make_directory(path: Path) -> None:
    """Create `path` (and missing parents, mode 0700) so that the creation survives a
    power cut: each new directory is fsynced into its parent. Returns only once every
    directory of `path` that this process made is durable (one made by another
    process may still be on its way)."""
    with CREATING:
        _make_directory(path)


def _make_directory(path: Path) -> None:
    missing: list[Path] = []
    for candidate in [path, *path.parents]:
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue
        fsync_directory(directory.parent)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} exists but is not a directory")
