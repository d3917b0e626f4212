"""The version counter, and several Directory objects (processes, nodes) on one database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig
from mailroom.directory import AlreadyExists, Directory
from tests.support.directories import HASH


@pytest.fixture
async def other(
    directory: Directory, database_url: str, tmp_path: Path
) -> AsyncIterator[Directory]:
    """A second Directory on the same database, as another process or node would have."""
    other = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    yield other
    await other.close()


async def test_every_change_bumps_the_version(directory: Directory) -> None:
    changes: list[Callable[[], Awaitable[object]]] = [
        lambda: directory.add_domain("example.org"),
        lambda: directory.add_account("alice@example.org", HASH),
        lambda: directory.add_address("alice@example.org", "a.smith@example.org"),
        lambda: directory.set_password_hash("alice@example.org", "$6$new$hash"),
        lambda: directory.set_enabled("alice@example.org", False),
        lambda: directory.update_account("alice@example.org", quota_bytes=1),
        lambda: directory.add_alias("team@example.org", ["alice@example.org"]),
        lambda: directory.grant_send_as("team@example.org", "alice@example.org"),
        lambda: directory.revoke_send_as("team@example.org", "alice@example.org"),
        lambda: directory.remove_alias("team@example.org"),
        lambda: directory.remove_address("a.smith@example.org"),
        lambda: directory.remove_account("alice@example.org"),
        lambda: directory.set_transport("lists.example.org", "[192.0.2.7]"),
        lambda: directory.remove_transport("lists.example.org"),
        lambda: directory.remove_domain("example.org"),
    ]
    versions = [await directory.version()]
    for change in changes:
        await change()
        versions.append(await directory.version())
    assert versions == list(range(len(changes) + 1))


async def test_another_directory_on_the_same_database_sees_changes_at_once(
    directory: Directory, other: Directory
) -> None:
    seen = await other.version()
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    assert await other.version() > seen
    assert await other.find_account("alice@example.org") == await directory.get_account(
        "alice@example.org"
    )


async def test_two_writers_racing_for_one_address_cannot_both_take_it(
    directory: Directory, other: Directory
) -> None:
    await directory.add_domain("example.org")
    await directory.add_account("bob@example.org", HASH)
    outcomes = await asyncio.gather(
        directory.add_account("alice@example.org", HASH),
        other.add_alias("alice@example.org", ["bob@example.org"]),
        return_exceptions=True,
    )
    refusals = [outcome for outcome in outcomes if isinstance(outcome, AlreadyExists)]
    assert len(refusals) == 1, outcomes
    account, alias = (
        await directory.find_account("alice@example.org"),
        await directory.list_aliases(),
    )
    assert (account is None) != (alias == [])


async def test_on_a_sqlite_file_the_version_read_sees_only_what_is_committed(
    tmp_path: Path,
) -> None:
    # Read on a connection of its own, outside the engine (transactions.py): it must see
    # what the engine's reads see, here while another process holds a write open.
    path = tmp_path / "directory.sqlite3"
    directory = await Directory.connect(DirectoryConfig(url=f"sqlite:///{path}"), tmp_path)
    await directory.migrate()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE directory_version SET version = version + 1")
        assert await directory.version() == 0
        writer.execute("COMMIT")
        assert await directory.version() == 1
        await directory.add_domain("example.org")
        assert await directory.version() == 2
    finally:
        writer.close()
        await directory.close()


async def test_an_in_memory_directory_has_a_version_too() -> None:
    directory = await Directory.connect(DirectoryConfig(url="sqlite://"))
    await directory.migrate()
    try:
        assert await directory.version() == 0
        await directory.add_domain("example.org")
        assert await directory.version() == 1
    finally:
        await directory.close()
