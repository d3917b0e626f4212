"""The account directory in tests: a stand-in password hash, everything a directory
holds (to see that a refusal changed nothing), the type of the `refused` fixture, and a
migrated directory with one local domain."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from mailroom.config import DirectoryConfig
from mailroom.directory import Directory, DirectoryError

# A stand-in: the directory stores hashes, it never checks them.
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

Refused = Callable[[type[DirectoryError], str], AbstractAsyncContextManager[None]]


async def everything_in(directory: Directory) -> object:
    """All the directory holds, and its version: equal before and after means no change."""
    return (
        await directory.list_domains(),
        await directory.list_accounts(),
        await directory.list_aliases(),
        await directory.list_transports(),
        await directory.version(),
    )


async def open_directory(url: str, tmp_path: Path) -> Directory:
    directory = await Directory.connect(DirectoryConfig(url=url), tmp_path)
    await directory.migrate()
    await directory.add_domain("example.org")
    return directory
