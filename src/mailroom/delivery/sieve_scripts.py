"""Finding the Sieve scripts a delivery runs, and compiling each once per version.

Where they are:
- the account's active script: the link `~/.dovecot.sieve` (config `sieve.active_template`)
  to `~/sieve/NAME.sieve`, in Pigeonhole's layout (`mailroom.store.locate_sieve`). A
  regular file there is a script too, as Pigeonhole allows; a dangling link, or none,
  means no script. Pigeonhole's compiled `.svbin` files are never read or touched;
- the global scripts of `sieve.before` and `sieve.after`, in order;
- `include :personal "name"` in the account's script directory and `include :global
  "name"` in `sieve.global_directory` (RFC 6609 §3.2), where a name must be one path
  component (no "/", no leading ".", no NUL), so no script can read a file outside them.

`ScriptCache` keeps compiled scripts keyed by path, and reuses one while the file's
(mtime_ns, size, inode, device) are unchanged: a delivery stats the file and does not
reparse it. It is a bounded LRU; a script that fails to compile is cached with its error
too, so a broken script is not reparsed for every message. The identity comes from an
fstat of the open file, so what is compiled is the version the identity names even when
ManageSieve replaces the file meanwhile.

Blocking (stat, read): called from delivery's worker thread.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from mailroom.sieve.context import ScriptScope

log = logging.getLogger("mailroom.delivery")

SCRIPT_SUFFIX = ".sieve"
MAX_CACHED = 512
"""Compiled scripts kept (a parsed 30-rule script is some tens of KiB)."""
MAX_NAME_OCTETS = 200
"""Longest script name accepted in an include (NAME_MAX less room for the suffix)."""

S = TypeVar("S")


@dataclass(frozen=True)
class FileIdentity:
    """What tells one version of a file from the next without reading it."""

    mtime_ns: int
    size: int
    inode: int
    device: int


@dataclass(frozen=True)
class Compiled(Generic[S]):
    """A script as compiled: `script`, or `error` ("NAME: line N: message")."""

    name: str
    path: Path
    script: S | None
    error: str | None = None


class ScriptCache(Generic[S]):
    """Compiled scripts by path, each reused while its file is unchanged."""

    def __init__(
        self,
        compile_source: Callable[[bytes, str], S | str],
        *,
        max_script_size: int,
        max_entries: int = MAX_CACHED,
    ) -> None:
        self._compile = compile_source
        self.max_script_size = max_script_size
        self.max_entries = max_entries
        self._entries: OrderedDict[Path, tuple[FileIdentity, Compiled[S]]] = OrderedDict()
        self._lock = threading.Lock()
        self.compilations = 0
        """How many times a source was compiled (for tests and the bench)."""

    def load(self, path: Path, name: str) -> Compiled[S] | None:
        """The script at `path` (a link is followed), compiled; None when there is no
        script there (missing, a dangling link, not a regular file)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            return Compiled(name, path, None, f"{name}: cannot be read: {error.strerror}")
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                log.warning("%s: not a regular file; no script run", path)
                return None
            identity = FileIdentity(info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev)
            with self._lock:
                cached = self._entries.get(path)
                if cached is not None and cached[0] == identity:
                    self._entries.move_to_end(path)
                    return cached[1]
            compiled = self._compiled(fd, path, name, info.st_size)
        finally:
            os.close(fd)
        with self._lock:
            self._entries[path] = (identity, compiled)
            self._entries.move_to_end(path)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return compiled

    def _compiled(self, fd: int, link: Path, name: str, size: int) -> Compiled[S]:
        path = Path(os.path.realpath(link))  # the file a log line names: the link's target
        too_large = f"{name}: larger than max_script_size ({self.max_script_size} bytes)"
        if size > self.max_script_size:
            return Compiled(name, path, None, too_large)
        try:
            source = _read_at_most(fd, self.max_script_size + 1)
        except OSError as error:
            return Compiled(name, path, None, f"{name}: cannot be read: {error.strerror}")
        if len(source) > self.max_script_size:
            return Compiled(name, path, None, too_large)
        self.compilations += 1
        result = self._compile(source, name)
        if isinstance(result, str):
            return Compiled(name, path, None, result)
        return Compiled(name, path, result)


def read_script(path: Path, max_size: int) -> bytes | None:
    """The bytes of the script file at `path`; None if there is none or it is larger
    than `max_size` (logged)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        source = _read_at_most(fd, max_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(source) > max_size:
        log.warning("%s: over max_script_size %d; not included", path, max_size)
        return None
    return source


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def script_name_problem(name: str) -> str | None:
    """Why `name` cannot name a script file in a script directory (None: it can)."""
    if not name:
        return "a script name cannot be empty"
    if "/" in name or "\0" in name or "\\" in name:
        return f"{name!r}: a script name is one path component"
    if name.startswith("."):
        return f"{name!r}: a script name cannot start with '.'"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return f"{name!r}: control characters cannot be part of a script name"
    try:
        octets = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{name!r} is not valid Unicode"
    if octets > MAX_NAME_OCTETS:
        return f"a script name is at most {MAX_NAME_OCTETS} octets"
    return None


def script_file(directory: Path, name: str) -> Path | None:
    """`directory/NAME.sieve`, or None when `name` is not a safe script name."""
    if script_name_problem(name) is not None:
        return None
    return directory / f"{name}{SCRIPT_SUFFIX}"


def active_script_name(active: Path) -> str:
    """The name a log line gives the active script: NAME of the linked `NAME.sieve`,
    or the file's own name when it is a regular file."""
    try:
        target = os.readlink(active)
    except OSError:
        return active.name
    base = os.path.basename(target)
    return base.removesuffix(SCRIPT_SUFFIX) or base


class IncludeLoader:
    """`include` (RFC 6609 §3.2): `:personal` names a script of the account's script
    directory, `:global` one of `sieve.global_directory` (none configured: no global
    script exists). Implements `mailroom.sieve.context.ScriptLoader`."""

    def __init__(self, personal: Path | None, global_directory: Path | None, max_size: int) -> None:
        self.directories = {ScriptScope.PERSONAL: personal, ScriptScope.GLOBAL: global_directory}
        self.max_size = max_size

    def load(self, scope: ScriptScope, name: str) -> bytes | None:
        directory = self.directories.get(scope)
        if directory is None:
            return None
        path = script_file(directory, name)
        if path is None:
            log.info("include %s %r refused: %s", scope.value, name, script_name_problem(name))
            return None
        return read_script(path, self.max_size)
