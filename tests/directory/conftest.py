"""Fixtures of the directory's tests: a migrated Directory on each backend, and `refused`,
which checks that a refusal says what it should and leaves the directory as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig
from mailroom.directory import Directory, DirectoryError

# A stand-in: the directory stores hashes, it never checks them.
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

Refused = Callable[[type[DirectoryError], str], AbstractAsyncContextManager[None]]


@pytest.fixture
async def directory(database_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    """A migrated, empty directory on each backend in turn."""
    directory = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    await directory.migrate()
    yield directory
    await directory.close()


async def everything_in(directory: Directory) -> object:
    """All the directory holds, and its version: equal before and after means no change."""
    return (
        await directory.list_domains(),
        await directory.list_accounts(),
        await directory.list_aliases(),
        await directory.list_transports(),
        await directory.version(),
    )


@pytest.fixture
def refused(directory: Directory) -> Refused:
    """`async with refused(NotFound, "no account bob@example.org"): ...`: the body must
    raise exactly that error with exactly that one-line message, and change nothing."""

    @asynccontextmanager
    async def refusal(error: type[DirectoryError], message: str) -> AsyncIterator[None]:
        before = await everything_in(directory)
        with pytest.raises(error) as caught:
            yield
        assert type(caught.value) is error
        assert str(caught.value) == message
        assert "\n" not in message
        assert await everything_in(directory) == before

    return refusal
