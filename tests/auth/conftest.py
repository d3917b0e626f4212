"""The auth tests' fixtures: a clock the test moves by hand, and a real Directory on
SQLite (helpers in tests/support: password_hashes, fake_clock, directories)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mailroom.directory import Directory
from tests.support.databases import make_database
from tests.support.directories import open_directory
from tests.support.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield from make_database("sqlite", tmp_path)


@pytest.fixture
async def directory(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    """A migrated SQLite directory with the local domain example.org and no accounts."""
    directory = await open_directory(sqlite_url, tmp_path)
    yield directory
    await directory.close()
