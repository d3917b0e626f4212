"""Copying the legacy Maildirs elsewhere (`mailroom import legacy --copy-to DIR`), leaving
the originals untouched, so that Dovecot can go on serving them until the switch and a
rollback starts from mail nobody changed.

A copy is made as Dovecot would find it: every file with its name, its bytes and its
mtime (a message's IMAP internal date), `dovecot-uidlist`, `dovecot-keywords`,
`subscriptions`, `maildirfolder` and Dovecot's own index files included, so UIDs,
keywords and subscriptions carry over. Left out: what is in tmp/ (messages being
written), lock files, symbolic links (reported), and Mailroom's own index (a cache,
built again for the copy).

Running it again brings the copy up to date and is safe:
- a file that is in the copy with the same size and mtime is left alone;
- a message the legacy host re-flagged since (the same base name under another name,
  or moved from new/ to cur/) is renamed in the copy, not copied twice;
- a message written through tmp/ and renamed into place, every other file written
  beside its target and renamed over it: a copy interrupted halfway leaves no half file;
- nothing is ever deleted from the copy: a message found only there (expunged on the
  legacy host since, or delivered to the copy) is kept and counted.
Everything is flushed to disk once at the end (`os.sync`), not file by file.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.store.filename import INFO_START
from mailroom.store.index import FILE_NAME as INDEX_FILE_NAME

MESSAGE_DIRECTORIES = ("cur", "new")
SKIPPED_SUFFIXES = (".lock",)
TEMPORARY_PREFIX = ".mailroom-copy-"


class CopyError(Exception):
    """The copy's destination cannot be used; the message says why."""


@dataclass
class CopyResult:
    copied: int = 0
    """Files copied (new or changed)."""
    renamed: int = 0
    """Messages whose flags changed on the legacy host: renamed in the copy."""
    unchanged: int = 0
    kept: int = 0
    """Messages only in the copy, left there."""
    left: list[tuple[Path, str]] = field(default_factory=list)
    """What was not copied, and why."""

    def add(self, other: CopyResult) -> None:
        self.copied += other.copied
        self.renamed += other.renamed
        self.unchanged += other.unchanged
        self.kept += other.kept
        self.left.extend(other.left)


def copy_template(template: str, destination: Path) -> str:
    """The Maildir template below `destination` that mirrors `template` below its fixed
    part: `/home/%n/Maildir` copied to `/srv/mail` is `/srv/mail/%n/Maildir`."""
    first = template.find("%")
    if first < 0:
        raise CopyError(f"the template {template!r} names one Maildir for everyone")
    cut = template.rfind("/", 0, first) + 1
    if not destination.is_absolute():
        raise CopyError(f"--copy-to {destination}: give an absolute path")
    if "%" in str(destination):
        # It becomes part of the accounts' template, where % starts a variable.
        raise CopyError(f"--copy-to {destination}: a path with % cannot start a Maildir template")
    copied = f"{str(destination).rstrip('/')}/{template[cut:]}"
    if copied == template:
        raise CopyError(f"--copy-to {destination}: that is where the Maildirs are")
    return copied


def _same(source: os.stat_result, target: os.stat_result) -> bool:
    return source.st_size == target.st_size and source.st_mtime_ns == target.st_mtime_ns


def _copy_file(source: Path, target: Path, temporary: Path) -> None:
    """`source` to `target` with its mode and times, through `temporary` (renamed over)."""
    try:
        shutil.copy2(source, temporary, follow_symlinks=False)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _copy_messages(source: Path, target: Path, folder_tmp: Path, result: CopyResult) -> None:
    """One folder's cur/ and new/ (both at once: a message moves between them)."""
    in_copy: dict[str, tuple[str, str]] = {}
    for sub in MESSAGE_DIRECTORIES:
        (target / sub).mkdir(exist_ok=True)
        for name in os.listdir(target / sub):
            in_copy[name.partition(INFO_START)[0]] = (sub, name)
    seen: set[str] = set()
    for sub in MESSAGE_DIRECTORIES:
        try:
            entries = list(os.scandir(source / sub))
        except FileNotFoundError:
            continue
        for entry in entries:
            origin = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                result.left.append((origin, "not a regular file"))
                continue
            base = entry.name.partition(INFO_START)[0]
            seen.add(base)
            wanted = target / sub / entry.name
            present = in_copy.get(base)
            if present == (sub, entry.name) and _same(info, wanted.stat()):
                result.unchanged += 1
                continue
            if present is not None and present != (sub, entry.name):
                os.rename(target / present[0] / present[1], wanted)
                in_copy[base] = (sub, entry.name)
                if _same(info, wanted.stat()):
                    result.renamed += 1
                    continue
            _copy_file(origin, wanted, folder_tmp / f"{TEMPORARY_PREFIX}{entry.name}")
            result.copied += 1
    result.kept += len(in_copy.keys() - seen)


def copy_maildir(source: Path, target: Path) -> CopyResult:
    """Copy the Maildir++ mailbox `source` (its root and every folder) to `target`, or
    bring an earlier copy up to date (module docstring)."""
    result = CopyResult()
    for directory, dirnames, filenames in os.walk(source):
        here = Path(directory)
        relative = here.relative_to(source)
        there = target / relative
        there.mkdir(parents=True, exist_ok=True)
        shutil.copystat(here, there)
        if here.name == "tmp" or here.name in MESSAGE_DIRECTORIES:
            dirnames.clear()  # tmp/: being written; cur/, new/: done with their folder
            continue
        for name in list(dirnames):
            if (here / name).is_symlink():
                dirnames.remove(name)
                result.left.append((here / name, "a symbolic link"))
        if any((here / sub).is_dir() for sub in MESSAGE_DIRECTORIES):
            (there / "tmp").mkdir(exist_ok=True)
            _copy_messages(here, there, there / "tmp", result)
        for name in filenames:
            origin = here / name
            if name.startswith(INDEX_FILE_NAME) or name.endswith(SKIPPED_SUFFIXES):
                continue
            if name.startswith(TEMPORARY_PREFIX):
                continue
            info = origin.lstat()
            if not stat.S_ISREG(info.st_mode):
                result.left.append((origin, "not a regular file"))
                continue
            wanted = there / name
            try:
                if _same(info, wanted.stat()):
                    result.unchanged += 1
                    continue
            except FileNotFoundError:
                pass
            _copy_file(origin, wanted, there / f"{TEMPORARY_PREFIX}{name}")
            result.copied += 1
    return result


def flush_copies() -> None:
    """Everything copied on stable storage, at once."""
    os.sync()
