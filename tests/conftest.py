"""Fixtures shared by every test: real SQL servers, each test on a database of its own
(see tests/support/databases.py), and async tests on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from tests.support.databases import BACKENDS, make_database

SLOW_DIRECTORIES = ("mailhost", "browser")
"""Whole servers in processes of their own (kill -9, workers, service user) and headless
chromium: most of the suite's time, and what `make test-fast` leaves out."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under SLOW_DIRECTORIES are `slow`; `alone` tests share one xdist group, so
    that with `--dist loadgroup` (make test) they run one after the other."""
    tests = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests) if item.path.is_relative_to(tests) else None
        if relative is not None and relative.parts[0] in SLOW_DIRECTORIES:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("alone") is not None:
            item.add_marker(pytest.mark.xdist_group("alone"))


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Async tests run on uvloop, as `mailroom serve` does."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each of the three backends in turn."""
    yield from make_database(request.param, tmp_path)


@pytest.fixture
def mariadb_url(tmp_path: Path) -> Iterator[str]:
    yield from make_database("mariadb", tmp_path)
