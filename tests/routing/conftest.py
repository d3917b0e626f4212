"""Fixtures of the routing tests: a real directory on SQLite holding a small community
(the routing logic is the same on every backend; test_backends.py runs it on all three),
table files written to tmp_path, and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mailroom.config import DirectoryConfig, RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import Expansion, Router

# A stand-in: the directory stores hashes, routing never looks at them.
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


class Clock:
    """Monotonic time that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write(directory: Path, name: str, text: str) -> Path:
    """Write `text` (dedented) to `directory/name`; return the path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


async def populate(directory: Directory) -> Directory:
    """The community every routing test starts from:
    - local domains example.org and example.net;
    - accounts alice@example.org (extra address alice.smith@example.org), bob@example.org,
      root@example.org, root@example.net, and carol@example.org (disabled);
    - the alias team@example.org -> alice@example.org, bob@example.org;
    - transports for issue.example.org and lists.example.org (the legacy sub-domains)."""
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_address("alice@example.org", "alice.smith@example.org")
    await directory.add_account("bob@example.org", HASH)
    await directory.add_account("root@example.org", HASH)
    await directory.add_account("root@example.net", HASH)
    await directory.add_account("carol@example.org", HASH, enabled=False)
    await directory.add_alias("team@example.org", ["alice@example.org", "bob@example.org"])
    await directory.set_transport("issue.example.org", "[issue.internal.example.org]:25")
    await directory.set_transport("lists.example.org", "[lists.internal.example.org]:25")
    return directory


async def open_directory(url: str, base_dir: Path) -> Directory:
    directory = await Directory.connect(DirectoryConfig(url=url), base_dir)
    await directory.migrate()
    return directory


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


MakeRouter = Callable[..., Router]


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


def deliveries(expansion: Expansion) -> list[str]:
    """The deliveries as short lines: `local alice@example.org detail=tag bcc`."""
    lines = []
    for delivery in expansion.deliveries:
        words = [delivery.kind.value, delivery.recipient]
        if delivery.detail is not None:
            words.append(f"detail={delivery.detail}")
        if delivery.nexthop is not None:
            words.append(f"via {delivery.nexthop}")
        if delivery.bcc:
            words.append("bcc")
        lines.append(" ".join(words))
    return lines


def failures(expansion: Expansion) -> list[str]:
    """The failures as short lines: `loop a@example.org`."""
    return [f"{failure.reason.value} {failure.address}" for failure in expansion.failures]
