"""Fixtures of the directory's tests: a migrated Directory on each backend, and `refused`,
which checks that a refusal says what it should and leaves the directory as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig
from mailroom.directory import Directory, DirectoryError
from tests.support.directories import Refused, everything_in


@pytest.fixture
async def directory(database_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    """A migrated, empty directory on each backend in turn."""
    directory = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    await directory.migrate()
    yield directory
    await directory.close()


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
