"""The host's secrets at rest, and whether another local user could read them.

What a local user must not read: the config (a MariaDB/PostgreSQL password sits in the
directory URL, master users' hashes), the SQLite directory (every member's password
hash), the TLS keys, the DKIM keys, the SRS secret and the relay host's password file.
`mailroom` runs with umask 027 (`process_limits.PRIVATE_UMASK`) and writes keys 0600,
so what it creates is at most 0640; files made before, or by hand, are checked by
`mailroom config check`, which names each looser one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mailroom.app.host_files import SRS_SECRET_FILE, data_dir
from mailroom.config import Config
from mailroom.directory.database import database_of

LOOSE_BITS = stat.S_IWGRP | stat.S_IRWXO
"""Bits a secret must not have: group write, anything for other users (0640 at most)."""
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class LooseFile:
    path: Path
    mode: int
    what: str

    def warning(self) -> str:
        """One line for `mailroom config check`."""
        return (
            f"warning: {self.path} ({self.what}) has mode {self.mode:04o}: other local users "
            f"may read it; chmod 0640 (or 0600) it"
        )


def secret_files(config: Config) -> list[tuple[Path, str]]:
    """The files holding the host's secrets, as the config places them (whether they
    exist or not), each with what it holds."""
    found: list[tuple[Path, str]] = []
    if config.source is not None:
        found.append((config.source, "the config"))
    database = sqlite_file(config)
    if database is not None:
        found.append((database, "the directory's password hashes"))
    keys = {config.resolve(config.tls.key)}
    keys |= {config.resolve(listener.key) for listener in config.listeners if listener.key}
    found += [(key, "a TLS key") for key in sorted(keys)]
    dkim = config.resolve(config.dkim.key_directory)
    if dkim.is_dir():
        found += [(key, "a DKIM key") for key in sorted(dkim.glob("*.key"))]
    found.append((data_dir(config) / SRS_SECRET_FILE, "the SRS secret"))
    relay = config.delivery.relayhost_password_file
    if relay is not None:
        found.append((config.resolve(relay), "the relay host's password"))
    return found


def sqlite_file(config: Config) -> Path | None:
    """The directory's SQLite file, if the directory is one."""
    base = config.source.parent if config.source else None
    try:
        url = database_of(config.directory, base).url
    except ValueError:
        return None
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def loose_secret_files(config: Config) -> list[LooseFile]:
    """The secret files that exist with a mode looser than 0640."""
    loose = []
    for path, what in secret_files(config):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & LOOSE_BITS:
            loose.append(LooseFile(path, mode, what))
    return loose


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (so that what a library
    writes into it next, such as SQLite, is never readable by others meanwhile)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
