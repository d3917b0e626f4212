"""The auth tests' fixtures: a clock the test moves by hand, and a real Directory on
SQLite (helpers in tests/support: password_hashes, fake_clock, directories)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailroom.auth import Authenticator, Throttle
from mailroom.directory import Directory
from tests.support.auth_site import MakeSite, Site, auth_config
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


@pytest.fixture
async def make_site(directory: Directory) -> AsyncIterator[MakeSite]:
    """`await make_site(throttle, clock, default_domain=...)`: a Site with that [auth]
    config (the clock times the login cache)."""
    opened: list[Authenticator] = []

    async def make(
        throttle: Throttle | None = None, clock: Callable[[], float] | None = None, **settings: Any
    ) -> Site:
        config = auth_config(**settings)
        if clock is None:
            authenticator = Authenticator(directory, config, throttle)
        else:
            authenticator = Authenticator(directory, config, throttle, clock)
        opened.append(authenticator)
        return Site(directory, authenticator)

    yield make
    for authenticator in opened:
        await authenticator.close()


@pytest.fixture
async def site(make_site: MakeSite) -> Site:
    """Alice (enabled) and Dave (disabled) with PASSWORD; no throttle, no masters."""
    site = await make_site()
    await site.add("alice@example.org")
    await site.add("dave@example.org", enabled=False)
    return site
