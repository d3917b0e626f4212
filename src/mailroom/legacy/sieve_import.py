"""Members' Sieve scripts from beside their legacy Maildirs into the store's Pigeonhole
layout (store/sieve_scripts.py), each compiled first by the interpreter delivery runs.

Where the legacy host kept them (its home is the directory holding the Maildir):
- pysieved (the legacy ManageSieve server, under xinetd) with its Dovecot storage keeps
  a member's scripts in `~/.pysieved/`, one file per script named by the script's name
  URL-quoted (`urllib.quote(name, '')`), no suffix; it skips names starting with '.' or
  ending with '~'. The active script is `~/.dovecot.sieve`, a symbolic link to
  `.pysieved/NAME`, which Dovecot's LDA runs;
- Pigeonhole's own layout, `~/sieve/NAME.sieve` with the same `~/.dovecot.sieve` link;
- a `~/.dovecot.sieve` that is a regular file (written by hand, before pysieved): the
  member's active script, imported as `dovecot.orig` (Pigeonhole's name for it).

A script whose name cannot be a script name, that does not compile, or that the
account's script quota has no room for is reported with the reason and left out; the
others are imported. The active one is made active unless it was left out. A script
already in place with the same text is left alone, so a second run changes nothing;
one that differs is replaced (until the switch the legacy host's text is the member's).
Blocks: run it in a thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from mailroom.sieve import SieveLimits, check_script
from mailroom.store.sieve_scripts import (
    RESCUED_NAME,
    SCRIPT_SUFFIX,
    ScriptStoreError,
    SieveScripts,
    script_name_problem,
)

PYSIEVED_DIRECTORY = ".pysieved"
PIGEONHOLE_DIRECTORY = "sieve"
ACTIVE_LINK = ".dovecot.sieve"


@dataclass(frozen=True)
class LegacyScript:
    name: str
    path: Path


@dataclass(frozen=True)
class LegacyScripts:
    """A member's scripts on the legacy host, and which is active (None: none)."""

    scripts: tuple[LegacyScript, ...]
    active: str | None


@dataclass
class SieveImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    activated: int = 0
    left: list[tuple[str, str]] = field(default_factory=list)
    """(the script, why it was left out)."""

    def add(self, other: SieveImport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.activated += other.activated
        self.left.extend(other.left)


def _pysieved_name(file_name: str) -> str | None:
    if file_name.startswith(".") or file_name.endswith("~"):
        return None
    return unquote(file_name, errors="surrogateescape")


def _pigeonhole_name(file_name: str) -> str | None:
    if file_name.startswith(".") or not file_name.endswith(SCRIPT_SUFFIX):
        return None
    return file_name[: -len(SCRIPT_SUFFIX)]


def find_legacy_scripts(home: Path) -> LegacyScripts:
    """The scripts in the legacy `home` (module docstring)."""
    scripts: list[LegacyScript] = []
    by_path: dict[Path, str] = {}
    for directory, naming in (
        (PYSIEVED_DIRECTORY, _pysieved_name),
        (PIGEONHOLE_DIRECTORY, _pigeonhole_name),
    ):
        try:
            entries = sorted(os.scandir(home / directory), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = naming(entry.name)
            if name is None or not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            scripts.append(LegacyScript(name, path))
            by_path[path] = name
    active: str | None = None
    link = home / ACTIVE_LINK
    if link.is_symlink():
        target = Path(os.path.normpath(link.parent / os.readlink(link)))
        active = by_path.get(target)
    elif link.is_file():
        scripts.append(LegacyScript(RESCUED_NAME, link))
        active = RESCUED_NAME
    return LegacyScripts(tuple(scripts), active)


def _read(path: Path, limit: int) -> bytes | None:
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


def import_scripts(
    legacy: LegacyScripts, target: SieveScripts, limits: SieveLimits, *, dry_run: bool
) -> SieveImport:
    """Put `legacy`'s scripts into `target` (checked, compiled), then make the active one
    active; with `dry_run` only say what would be done."""
    result = SieveImport()
    imported: set[str] = set()
    names: set[str] = set()
    for script in legacy.scripts:
        what = f"{script.path}"
        problem = script_name_problem(script.name)
        if problem is not None:
            result.left.append((what, problem))
            continue
        if script.name in names:
            if script.path != target.path(script.name):  # else: what an earlier run made
                result.left.append(
                    (what, f"a second script named {script.name!r}; the first is used")
                )
            continue
        names.add(script.name)
        try:
            source = _read(script.path, limits.max_script_size)
        except OSError as error:
            result.left.append((what, error.strerror or str(error)))
            continue
        if source is None:
            result.left.append((what, f"larger than {limits.max_script_size} octets"))
            continue
        fault = check_script(source, name=script.name, limits=limits)
        if fault is not None:
            result.left.append((what, f"does not compile: {fault}"))
            continue
        path = target.path(script.name)
        try:
            existing = path.read_bytes() if path.is_file() else None
            if existing == source:
                result.unchanged += 1
            else:
                if not dry_run:
                    target.put(script.name, source)
                if existing is None:
                    result.created += 1
                else:
                    result.updated += 1
        except (ScriptStoreError, OSError) as refused:
            result.left.append((what, str(refused)))
            continue
        imported.add(script.name)
    active = legacy.active
    if active is not None and active in imported and target.active_name() != active:
        try:
            if not dry_run:
                target.activate(active)
            result.activated += 1
        except (ScriptStoreError, OSError) as error:
            result.left.append((f"{active} (active)", str(error)))
    return result
