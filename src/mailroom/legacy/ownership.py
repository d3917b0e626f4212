"""Handing the legacy Maildirs (and Sieve files) over to the service user
(`mailroom import legacy --chown USER[:GROUP]`).

On the legacy host each member's Maildir belongs to that member's system user; Mailroom
runs as one service user that owns all mail (Dovecot's virtual-user model, DESIGN.md).
`hand_over` gives every file and directory below the given paths to that user, and
changes only what is not already theirs, so a second run changes nothing.

Root walks trees the members could write to, so nothing here follows a symbolic link:
the walk is `os.fwalk` without following links (a directory swapped for a link while we
walk is not entered), and each owner is changed with `lchown` relative to its directory's
descriptor (a link's own owner changes, never its target's). A regular file with more
than one link that root owns is left alone and reported: a member may have linked a file
of root's into their Maildir, and changing its owner would change root's file.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


class OwnershipError(Exception):
    """The hand-over cannot be made (not root, an unknown user or group); the message is
    one line saying what to do."""


@dataclass(frozen=True)
class Owner:
    """Whom the Maildirs are handed over to."""

    user: str
    uid: int
    group: str
    gid: int

    def __str__(self) -> str:
        return f"{self.user}:{self.group}"


def resolve_owner(spec: str, *, euid: int | None = None) -> Owner:
    """The owner `USER[:GROUP]` names (the group defaults to the user's primary group).
    OwnershipError when this process (effective uid `euid`, default its own) is not root,
    or the user or group does not exist."""
    euid = os.geteuid() if euid is None else euid
    user, colon, group = spec.partition(":")
    if not user or (colon and not group):
        raise OwnershipError(f"--chown: expected USER or USER:GROUP, got {spec!r}")
    if euid != 0:
        raise OwnershipError(
            f"--chown {spec}: only root can hand the Maildirs over; run the import as root"
        )
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise OwnershipError(f"--chown: no such user {user!r}") from None
    gid = account.pw_gid
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise OwnershipError(f"--chown: no such group {group!r}") from None
    else:
        try:
            group = grp.getgrgid(gid).gr_name
        except KeyError:
            group = str(gid)
    return Owner(user, account.pw_uid, group, gid)


@dataclass
class HandOver:
    """What a hand-over found and changed."""

    checked: int = 0
    changed: int = 0
    left: list[tuple[Path, str]] = field(default_factory=list)
    """What was not handed over, and why."""


def _needs(info: os.stat_result, owner: Owner) -> bool:
    return info.st_uid != owner.uid or info.st_gid != owner.gid


def _risky(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_nlink > 1 and info.st_uid == 0


def _one(
    name: str, dir_fd: int | None, path: Path, owner: Owner, dry_run: bool, result: HandOver
) -> None:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return  # gone meanwhile
    result.checked += 1
    if not _needs(info, owner):
        return
    if _risky(info):
        result.left.append((path, "a file of root's with other hard links; check it"))
        return
    result.changed += 1
    if not dry_run:
        os.chown(name, owner.uid, owner.gid, dir_fd=dir_fd, follow_symlinks=False)


def hand_over(
    paths: Iterable[Path],
    owner: Owner,
    *,
    dry_run: bool = False,
    advance: Callable[[Path], None] = lambda _: None,
) -> HandOver:
    """Give each path (and, for a directory, everything below it) to `owner`; with
    `dry_run` only count what would change. Paths that do not exist are skipped.
    `advance` is called after each path."""
    result = HandOver()
    for top in paths:
        try:
            info = os.lstat(top)
        except FileNotFoundError:
            advance(top)
            continue
        if not stat.S_ISDIR(info.st_mode):
            _one(str(top), None, top, owner, dry_run, result)
            advance(top)
            continue
        _one(str(top), None, top, owner, dry_run, result)
        for directory, dirnames, filenames, dir_fd in os.fwalk(top, follow_symlinks=False):
            for name in (*dirnames, *filenames):
                _one(name, dir_fd, Path(directory) / name, owner, dry_run, result)
        advance(top)
    return result
