"""The Maildir side of `mailroom import legacy`: the members' Maildirs found, then (each
when asked for) copied elsewhere (`--copy-to`), their Sieve scripts imported, every
folder's index built (`--index`) and everything handed over to the service user
(`--chown`), with progress shown for each long step. The work itself is `legacy`'s;
this module picks the paths and reports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from mailroom.app.service_user import sqlite_file
from mailroom.cli.command import console
from mailroom.config import Config
from mailroom.directory import DirectoryError, normalize_address
from mailroom.legacy import LegacyHost
from mailroom.legacy.folder_index import THREADS, folders_of, index_folders
from mailroom.legacy.maildir_copy import CopyError, CopyResult, copy_maildir, flush_copies
from mailroom.legacy.ownership import Owner, OwnershipError, hand_over, resolve_owner
from mailroom.legacy.sieve_import import (
    ACTIVE_LINK,
    PIGEONHOLE_DIRECTORY,
    PYSIEVED_DIRECTORY,
    LegacyScripts,
    SieveImport,
    find_legacy_scripts,
    import_scripts,
)
from mailroom.sieve import SieveLimits
from mailroom.store import ScriptQuota, SieveScripts, locate_sieve, mailbox_path

LEGACY_SIEVE_NAMES = (PYSIEVED_DIRECTORY, PIGEONHOLE_DIRECTORY, ACTIVE_LINK)
MAPS_DIRECTORY = "legacy"
"""Where in the data directory the import keeps its copies of the legacy map files."""


@dataclass(frozen=True)
class MaildirOptions:
    maildirs: str
    """The legacy Maildirs' template (`/home/%n/Maildir`)."""
    serving: str
    """The template of the Maildirs Mailroom serves: `maildirs`, or their copy's."""
    copy: bool
    index: bool
    owner: Owner | None
    dry_run: bool


@dataclass(frozen=True)
class Member:
    address: str
    legacy: Path
    """The member's legacy Maildir."""
    maildir: Path
    """Where Mailroom serves it (the legacy one, or its copy)."""


def owner_of(settings: Config, chown: str | None) -> Owner | None:
    """Whom to hand the Maildirs over to: `--chown USER[:GROUP]`; without it, when the
    import runs as root, the configured `[server] user` and `group` (so that root leaves
    no file of its own in a Maildir); else nobody. OwnershipError says why not."""
    if chown is None:
        if os.geteuid() != 0 or settings.server.user is None:
            return None
        chown = settings.server.user
        if settings.server.group is not None:
            chown += f":{settings.server.group}"
    return resolve_owner(chown)


def members(settings: Config, host: LegacyHost, maildirs: str, serving: str) -> list[Member]:
    """Each legacy member whose address can name a Maildir, with the legacy Maildir and
    the one Mailroom serves."""
    data_dir = settings.resolve(settings.data_dir)
    found: list[Member] = []
    for user in host.users:
        try:
            address = normalize_address(f"{user.username}@{host.domain}")
            legacy = mailbox_path(maildirs, address, data_dir)
            served = legacy if serving == maildirs else mailbox_path(serving, address, data_dir)
        except (DirectoryError, ValueError):
            continue  # reported by the plan already
        found.append(Member(address, legacy, served))
    return found


def print_maildirs(found: list[Member], maildirs: str) -> None:
    present = sieve = 0
    for member in found:
        if member.legacy.is_dir():
            present += 1
        home = member.legacy.parent
        if any((home / name).exists() for name in LEGACY_SIEVE_NAMES):
            sieve += 1
    console.print(
        f"Legacy Maildirs ({maildirs}): {present} found, {len(found) - present} missing "
        f"(made at first delivery); {sieve} with Sieve scripts beside them"
    )


@contextmanager
def _progress(what: str, total: int) -> Iterator[Callable[[object], None]]:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(what, total=total)

        def advance(_: object) -> None:
            progress.advance(task)

        yield advance


class _SieveTargets:
    """Where members' scripts go: `[sieve]`'s templates beside the served Maildirs."""

    def __init__(self, settings: Config, serving: str) -> None:
        self.settings = settings
        self.mailbox = settings.mailbox.model_copy(update={"path_template": serving})
        self.data_dir = settings.resolve(settings.data_dir)
        sieve = settings.sieve
        self.quota = ScriptQuota(
            sieve.max_scripts, int(sieve.max_storage), int(sieve.max_script_size)
        )

    def of(self, member: Member) -> SieveScripts | None:
        try:
            location = locate_sieve(
                self.settings.sieve, self.mailbox, self.data_dir, member.address
            )
        except ValueError:
            return None
        return SieveScripts(location, self.quota)


def copy_maildirs(found: list[Member], dry_run: bool) -> None:
    present = [member for member in found if member.legacy.is_dir()]
    if dry_run:
        console.print(f"Would copy {len(present)} Maildirs (the legacy ones stay as they are).")
        return
    total = CopyResult()
    with _progress("copying Maildirs", len(present)) as advance:
        for member in present:
            total.add(copy_maildir(member.legacy, member.maildir))
            advance(member)
        flush_copies()
    for path, reason in total.left:
        console.print(f"not copied: {path}: {reason}")
    console.print(
        f"Copied {len(present)} Maildirs: {total.copied} files copied, {total.renamed} "
        f"re-flagged messages renamed, {total.unchanged} unchanged, {total.kept} messages "
        "only in the copy kept."
    )


def import_sieve(settings: Config, found: list[Member], serving: str, dry_run: bool) -> None:
    """Each member's scripts, `THREADS` members at once: writing a script is mostly
    waiting for fsync (three per script), as building an index is."""
    limits = SieveLimits.from_config(settings.sieve)
    targets = _SieveTargets(settings, serving)
    work: list[tuple[LegacyScripts, SieveScripts]] = []
    for member in found:
        legacy = find_legacy_scripts(member.legacy.parent)
        target = targets.of(member) if legacy.scripts else None
        if target is not None:
            work.append((legacy, target))
    if not work:
        return
    members_with_scripts = len(work)
    total = SieveImport()
    with (
        _progress("importing Sieve scripts", len(work)) as advance,
        ThreadPoolExecutor(THREADS, thread_name_prefix="sieve") as pool,
    ):
        jobs = [
            pool.submit(import_scripts, legacy, target, limits, dry_run=dry_run)
            for legacy, target in work
        ]
        for job in jobs:
            total.add(job.result())
            advance(job)
    for what, reason in total.left:
        console.print(f"Sieve script left out: {what}: {reason}")
    verb = "would be" if dry_run else "were"
    console.print(
        f"Sieve scripts of {members_with_scripts} members: {total.created} created, "
        f"{total.updated} updated, {total.unchanged} unchanged, {total.activated} made "
        f"active, {len(total.left)} left out ({verb} imported)."
    )


def build_indexes(found: list[Member], dry_run: bool) -> None:
    folders = [folder for member in found for folder in folders_of(member.maildir)]
    if dry_run:
        console.print(f"Would build the index of {len(folders)} folders.")
        return
    indexed = messages = 0
    left: list[tuple[Path, str]] = []
    with _progress("indexing folders", len(folders)) as advance:
        for done in index_folders(folders, advance):
            if done.messages < 0:
                left.append((done.path, done.reason))
            else:
                indexed += 1
                messages += done.messages
    for folder, reason in left:
        console.print(f"not indexed: {folder}: {reason}")
    console.print(f"Indexed {indexed} folders ({messages} messages); {len(left)} left.")


def hand_over_all(
    settings: Config, found: list[Member], serving: str, owner: Owner, dry_run: bool
) -> None:
    targets = _SieveTargets(settings, serving)
    # What the import wrote outside the Maildirs: the map copies and an SQLite directory.
    paths: list[Path] = [settings.resolve(settings.data_dir) / MAPS_DIRECTORY]
    database = sqlite_file(settings)
    if database is not None:
        paths.extend(database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm"))
    for member in found:
        paths.append(member.maildir)
        scripts = targets.of(member)
        if scripts is not None:
            paths.extend([scripts.directory, scripts.active_link])
    with _progress("handing over", len(paths)) as advance:
        result = hand_over(paths, owner, dry_run=dry_run, advance=advance)
    for path, reason in result.left:
        console.print(f"not handed over: {path}: {reason}")
    verb = "Would hand" if dry_run else "Handed"
    console.print(
        f"{verb} {result.changed} of {result.checked} files and directories over to {owner}."
    )


def prepare_maildirs(settings: Config, found: list[Member], options: MaildirOptions) -> None:
    """The steps asked for, in order: Maildirs copied, Sieve scripts imported, indexes
    built, then ownership handed over (last, so that what the earlier steps wrote is
    handed over too)."""
    serving = options.serving
    if options.copy:
        copy_maildirs(found, options.dry_run)
    import_sieve(settings, found, serving, options.dry_run)
    present = [member for member in found if member.maildir.is_dir()]
    if options.index:
        build_indexes(present, options.dry_run)
    if options.owner is not None:
        hand_over_all(settings, present, serving, options.owner, options.dry_run)
    elif os.geteuid() == 0 and not options.dry_run and (options.copy or options.index):
        console.print(
            "Note: run as root without --chown (and no [server] user): what the import "
            "wrote in the Maildirs is root's; hand it to the server's user with --chown USER."
        )


__all__ = [
    "CopyError",
    "MaildirOptions",
    "OwnershipError",
    "members",
    "owner_of",
    "prepare_maildirs",
    "print_maildirs",
]
