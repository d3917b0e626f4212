"""An account's Sieve scripts on disk, in Pigeonhole's (Dovecot's) layout, as ManageSieve
edits them and delivery finds them:

    ~/sieve/NAME.sieve         one file per script (`SieveLocation.scripts`)
    ~/sieve/NAME.svbin         Pigeonhole's compiled copy: ignored and left alone
    ~/sieve/tmp/               scripts being written (Pigeonhole writes its own here too)
    ~/.dovecot.sieve           the active script: a symbolic link with a relative target,
                               `sieve/NAME.sieve`, as Pigeonhole writes it

Every change is atomic and durable: a script is written to `tmp/`, fsynced and renamed
over the old one; the active link is replaced by renaming a new link over it; the
directory is fsynced after each. A host that goes back to Dovecot finds the same
scripts and the same active one.

A `.dovecot.sieve` that is a regular file (written by hand before ManageSieve was
used) is the member's script too: as Pigeonhole does, it is not listed as active, and
before it is replaced by a link (SETACTIVE) or removed (SETACTIVE ""), it is copied
into the scripts as `dovecot.orig` (`dovecot.orig.2`, … if that name is taken), so
nothing a member wrote is ever lost.

Script names follow RFC 5804 §1.6, and are never a path: no "/", no leading ".", at
most `MAX_NAME_BYTES` of UTF-8. Everything here blocks: call it from a thread.
"""

from __future__ import annotations

import contextlib
import enum
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from mailroom.durable import fsync_directory, make_directory, write_all
from mailroom.store.paths import NAME_MAX, SieveLocation

SCRIPT_SUFFIX = ".sieve"
MAX_NAME_BYTES = NAME_MAX - len(SCRIPT_SUFFIX)
"""A name's file, NAME.sieve, must fit in one directory entry."""
TMP_DIRECTORY = "tmp"
"""Pigeonhole's directory for scripts being written, inside the scripts directory."""
TMP_PREFIX = "mailroom-"
"""Our files in `tmp/` (and our links beside the active one) start with this."""
STALE_TMP_SECONDS = 3600.0
"""A temporary file of ours this old was left by a crash: removed at the next write."""
RESCUED_NAME = "dovecot.orig"
"""Pigeonhole's name for a regular-file active script copied into the scripts."""

# RFC 5804 §1.6: no control characters (Unicode Cc: U+0000-001F, U+007F-009F), and no
# LINE SEPARATOR or PARAGRAPH SEPARATOR.
_FORBIDDEN = frozenset([*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])


class ScriptStoreError(Exception):
    """A script operation refused; the message is fit for the member."""


class ScriptNameError(ScriptStoreError):
    """The name cannot name a script (RFC 5804 §1.6, or it would be a path)."""


class NoSuchScript(ScriptStoreError):
    """RFC 5804 NONEXISTENT."""

    def __init__(self, name: str) -> None:
        super().__init__("There is no script by that name.")
        self.name = name


class ScriptExists(ScriptStoreError):
    """RFC 5804 ALREADYEXISTS."""

    def __init__(self, name: str) -> None:
        super().__init__("A script by that name already exists.")
        self.name = name


class ScriptIsActive(ScriptStoreError):
    """RFC 5804 ACTIVE: the active script cannot be deleted."""

    def __init__(self, name: str) -> None:
        super().__init__("You may not delete the active script.")
        self.name = name


class QuotaKind(enum.Enum):
    """Which limit a script would pass (RFC 5804 §1.3 response codes)."""

    MAXSIZE = "QUOTA/MAXSIZE"
    MAXSCRIPTS = "QUOTA/MAXSCRIPTS"
    MAXSTORAGE = "QUOTA/MAXSTORAGE"
    """Not in RFC 5804, whose QUOTA it refines: Pigeonhole's code for the storage limit."""


class ScriptQuotaExceeded(ScriptStoreError):
    def __init__(self, kind: QuotaKind, text: str) -> None:
        super().__init__(text)
        self.kind = kind


@dataclass(frozen=True)
class ScriptQuota:
    """An account's limits (config `[sieve]`)."""

    max_scripts: int
    max_storage: int
    """Octets of all scripts together."""
    max_script_size: int


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool
    size: int


def script_name_problem(name: str) -> str | None:
    """Why `name` cannot be a script's name; None when it can."""
    if not name:
        return "A script name may not be empty."
    if any(ord(character) in _FORBIDDEN for character in name):
        return "A script name may not contain control characters."
    if "/" in name:
        return "A script name may not contain '/'."
    if name.startswith("."):
        return "A script name may not start with '.'."
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "A script name must be valid Unicode."
    if len(encoded) > MAX_NAME_BYTES:
        return f"A script name may be at most {MAX_NAME_BYTES} octets long."
    return None


def _checked(name: str) -> str:
    problem = script_name_problem(name)
    if problem is not None:
        raise ScriptNameError(problem)
    return name


class SieveScripts:
    """One account's scripts. Cheap to make; holds no file open."""

    def __init__(self, location: SieveLocation, quota: ScriptQuota) -> None:
        self.directory = location.scripts
        self.active_link = location.active
        self.quota = quota

    def path(self, name: str) -> Path:
        return self.directory / (_checked(name) + SCRIPT_SUFFIX)

    # -- reading -------------------------------------------------------------------------

    def list(self) -> list[ScriptInfo]:
        """The account's scripts, by name; the active one marked."""
        active = self.active_name()
        found: list[ScriptInfo] = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            name = _listed_name(entry.name)
            if name is None:
                continue
            try:
                if not entry.is_file():
                    continue
                size = entry.stat().st_size
            except OSError:
                continue  # gone meanwhile
            found.append(ScriptInfo(name, name == active, size))
        return sorted(found, key=lambda info: info.name)

    def active_name(self) -> str | None:
        """The script the active link points to; None when there is none, the link is
        broken or points out of the scripts directory, or it is a regular file."""
        try:
            target = os.readlink(self.active_link)
        except (FileNotFoundError, OSError):
            return None  # absent, or not a link (a regular file is no *stored* script)
        resolved = Path(os.path.normpath(self.active_link.parent / target))
        name = _listed_name(resolved.name)
        if name is None or not self._is_scripts_directory(resolved.parent):
            return None
        return name if resolved.is_file() else None

    def _is_scripts_directory(self, directory: Path) -> bool:
        if os.path.normpath(directory) == os.path.normpath(self.directory):
            return True
        try:  # the same directory reached through another path (a symlinked home)
            return os.path.samefile(directory, self.directory)
        except OSError:
            return False

    def get(self, name: str) -> bytes:
        path = self.path(name)
        try:
            with path.open("rb") as handle:
                # A file from before us may be larger than we accept: bounded anyway.
                data = handle.read(self.quota.max_storage + 1)
        except (FileNotFoundError, IsADirectoryError):
            raise NoSuchScript(name) from None
        if len(data) > self.quota.max_storage:
            raise ScriptStoreError("The script is larger than the storage limit; ask the admin.")
        return data

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    # -- quota ---------------------------------------------------------------------------

    def check_space(self, name: str, size: int) -> None:
        """RFC 5804 §2.5 HAVESPACE: whether a script `name` of `size` octets would fit
        (replacing the one of that name, if any); ScriptQuotaExceeded if not."""
        _checked(name)
        quota = self.quota
        if size > quota.max_script_size:
            raise ScriptQuotaExceeded(
                QuotaKind.MAXSIZE, f"Script is too large (max {quota.max_script_size} octets)."
            )
        scripts = self.list()
        others = [info for info in scripts if info.name != name]
        if len(others) + 1 > quota.max_scripts:
            raise ScriptQuotaExceeded(
                QuotaKind.MAXSCRIPTS, f"Too many scripts (max {quota.max_scripts})."
            )
        if sum(info.size for info in others) + size > quota.max_storage:
            raise ScriptQuotaExceeded(
                QuotaKind.MAXSTORAGE,
                f"Not enough room for the script (max {quota.max_storage} octets in all).",
            )

    # -- changing ------------------------------------------------------------------------

    def put(self, name: str, source: bytes) -> None:
        """Create or replace the script `name` atomically (RFC 5804 §2.6), within the
        quota. The active script stays active."""
        self.check_space(name, len(source))
        self._write(self.path(name), source)

    def _write(self, path: Path, source: bytes) -> None:
        temporary_directory = self.directory / TMP_DIRECTORY
        make_directory(temporary_directory)
        self._sweep(temporary_directory)
        temporary = temporary_directory / f"{TMP_PREFIX}{secrets.token_hex(8)}{SCRIPT_SUFFIX}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                write_all(fd, source)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_directory(self.directory)

    def _sweep(self, temporary_directory: Path) -> None:
        """Remove our temporary files a crash left behind (never Pigeonhole's)."""
        cutoff = time.time() - STALE_TMP_SECONDS
        with contextlib.suppress(OSError), os.scandir(temporary_directory) as entries:
            for entry in entries:
                if entry.name.startswith(TMP_PREFIX) and entry.stat().st_mtime < cutoff:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def activate(self, name: str) -> None:
        """RFC 5804 §2.8 SETACTIVE: point the active link at `name`, atomically."""
        path = self.path(name)
        if not path.is_file():
            raise NoSuchScript(name)
        self._rescue_regular_file()
        self._link_active(path)

    def _link_active(self, path: Path) -> None:
        link = self.active_link
        make_directory(link.parent)
        # Relative, as Pigeonhole writes it ("sieve/NAME.sieve"): the home can move.
        target = os.path.relpath(path, link.parent)
        temporary = link.with_name(f"{link.name}.{TMP_PREFIX}{secrets.token_hex(8)}")
        os.symlink(target, temporary)
        try:
            os.rename(temporary, link)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_directory(link.parent)

    def deactivate(self) -> None:
        """RFC 5804 §2.8 SETACTIVE "": no script is active. A regular file is kept as
        `dovecot.orig` first."""
        self._rescue_regular_file()
        try:
            self.active_link.unlink()
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise ScriptStoreError(self._not_a_link()) from None
        fsync_directory(self.active_link.parent)

    def _rescue_regular_file(self) -> None:
        """Copy a regular-file active script into the scripts (Pigeonhole's
        `dovecot.orig`), outside the quota: a member's script is never lost."""
        link = self.active_link
        if link.is_symlink() or not link.exists():
            return
        if not link.is_file():
            raise ScriptStoreError(self._not_a_link())
        source = link.read_bytes()
        candidate, number = RESCUED_NAME, 1
        while True:
            path = self.path(candidate)
            if not path.exists():
                break
            if path.is_file() and path.read_bytes() == source:
                return  # rescued already
            number += 1
            candidate = f"{RESCUED_NAME}.{number}"
        self._write(path, source)

    def _not_a_link(self) -> str:
        return f"{self.active_link.name} is neither a script nor a link; ask the admin."

    def rename(self, old: str, new: str) -> None:
        """RFC 5804 §2.11.1 RENAMESCRIPT. Never replaces a script; the active script
        stays active under its new name, and there is an active script at every moment."""
        old_path, new_path = self.path(old), self.path(new)
        if not old_path.is_file():
            raise NoSuchScript(old)
        was_active = self.active_name() == old
        try:
            os.link(old_path, new_path)  # fails if `new` exists: no check-then-act race
        except FileExistsError:
            raise ScriptExists(new) from None
        except OSError:
            # A file system without hard links: rename, after a check.
            if new_path.exists():
                raise ScriptExists(new) from None
            if was_active:
                self._write(new_path, old_path.read_bytes())
            else:
                os.rename(old_path, new_path)
                fsync_directory(self.directory)
                return
        fsync_directory(self.directory)
        if was_active:
            self._link_active(new_path)
        old_path.unlink()
        fsync_directory(self.directory)

    def delete(self, name: str) -> None:
        """RFC 5804 §2.10 DELETESCRIPT; never the active script."""
        path = self.path(name)
        if not path.is_file():
            raise NoSuchScript(name)
        if self.active_name() == name:
            raise ScriptIsActive(name)
        path.unlink()
        fsync_directory(self.directory)


def _listed_name(file_name: str) -> str | None:
    """The script name of a file in the scripts directory; None for anything else
    (`.svbin`, `tmp`, hidden files, names we would not accept, undecodable names)."""
    if not file_name.endswith(SCRIPT_SUFFIX):
        return None
    name = file_name[: -len(SCRIPT_SUFFIX)]
    try:
        name.encode("utf-8")  # an undecodable file name holds surrogate escapes
    except UnicodeEncodeError:
        return None
    return name if script_name_problem(name) is None else None
