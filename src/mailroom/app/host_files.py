"""Where the host keeps its own files (data directory, queue, control socket, SRS
secret), how a command opens the directory database, and the errors of starting a host.

Kept apart from services.py, which imports every protocol and delivery package: a
`mailroom user ...` or `mailroom queue ...` command needs only these, and importing
the whole host cost a command about a second and a half of CPU before it did anything.
"""

from __future__ import annotations

from pathlib import Path

from mailroom.config import Config
from mailroom.control import CONTROL_SOCKET
from mailroom.directory import Directory

SRS_SECRET_FILE = "srs.secret"  # noqa: S105 - a file name, not a secret


class HostFileError(Exception):
    """A file of the host's own (not the config's) is unusable; the message names it and
    what to do."""


class ListenError(Exception):
    """A listener could not be opened (port taken, address not on this machine)."""


def data_dir(config: Config) -> Path:
    return config.resolve(config.data_dir)


def queue_dir(config: Config) -> Path:
    return data_dir(config) / "queue"


def control_socket(config: Config) -> Path:
    """Where the running host answers `mailroom queue` commands."""
    return data_dir(config) / CONTROL_SOCKET


async def open_directory(config: Config) -> Directory:
    base = config.source.parent if config.source else None
    return await Directory.connect(config.directory, base)
