"""Fixtures of the routing tests: a real directory on SQLite holding a small community
(the routing logic is the same on every backend; test_backends.py runs it on all three),
table files written to tmp_path, and a clock the test moves by hand (helpers in
tests/support/routing_community.py)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mailroom.config import RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import Router
from tests.support.routing_community import Clock, MakeRouter, open_directory, populate, write


@pytest.fixture(scope="session")
def community_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the community of `populate`, made once per test session
    (migrating and populating takes a quarter of a second) and copied for each test."""
    path = tmp_path_factory.mktemp("community") / "directory.sqlite3"

    async def build() -> None:
        directory = await open_directory(f"sqlite:///{path}", path.parent)
        await populate(directory)
        await directory.close()

    asyncio.run(build())
    return path


@pytest.fixture
async def directory(tmp_path: Path, community_database: Path) -> AsyncIterator[Directory]:
    """The community of `populate`, in a SQLite directory of this test's own."""
    path = tmp_path / "directory.sqlite3"
    for suffix in ("", "-wal", "-shm"):  # closing checkpoints the WAL, but be sure
        source = community_database.with_name(community_database.name + suffix)
        if source.exists():
            shutil.copyfile(source, path.with_name(path.name + suffix))
    directory = await open_directory(f"sqlite:///{path}", tmp_path)
    yield directory
    await directory.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_router(directory: Directory, tmp_path: Path, clock: Clock) -> MakeRouter:
    """`make_router(rewrite="...", aliases="...", bcc="...", max_depth=3, ...)`: write the
    given tables to files, name them in a RoutingConfig (other keywords are its settings)
    and return a loaded Router over the `directory` fixture."""

    def make(
        *,
        rewrite: str | list[str] | None = None,
        aliases: str | None = None,
        bcc: str | list[str] | None = None,
        **settings: Any,
    ) -> Router:
        rewrites = [rewrite] if isinstance(rewrite, str) else rewrite or []
        bccs = [bcc] if isinstance(bcc, str) else bcc or []
        config = RoutingConfig(
            rewrite_maps=[
                write(tmp_path, f"rewrite{index}", text).relative_to(tmp_path)
                for index, text in enumerate(rewrites)
            ],
            aliases_file=write(tmp_path, "aliases", aliases).relative_to(tmp_path)
            if aliases is not None
            else None,
            recipient_bcc_maps=[
                write(tmp_path, f"bcc{index}", text).relative_to(tmp_path)
                for index, text in enumerate(bccs)
            ],
            **settings,
        )
        router = Router(directory, config, tmp_path, clock)
        router.load()
        return router

    return make
