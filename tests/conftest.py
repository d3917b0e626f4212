"""Fixtures shared by every test: real SQL servers, each test on a database of its own
(see tests/support/databases.py), and async tests on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from tests.support.databases import BACKENDS, make_database


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
