"""Opening the directory: URL spellings, SQLite's file and mode, and clear words when the
database cannot be reached (naming where it is, never the password)."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig
from mailroom.directory import DatabaseUnavailable, Directory
from tests.support.directories import HASH


async def test_relative_sqlite_path_is_taken_from_the_base_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    directory = await Directory.connect(DirectoryConfig(url="sqlite:///data/dir.db"), tmp_path)
    try:
        await directory.migrate()
        assert directory.location == f"SQLite file {tmp_path / 'data' / 'dir.db'}"
        assert (tmp_path / "data" / "dir.db").is_file()
    finally:
        await directory.close()


async def test_sqlite_database_uses_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "dir.db"
    directory = await Directory.connect(DirectoryConfig(url=f"sqlite:///{path}"))
    try:
        await directory.migrate()
    finally:
        await directory.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_in_memory_sqlite_keeps_its_data_while_open() -> None:
    directory = await Directory.connect(DirectoryConfig(url="sqlite:///:memory:"))
    try:
        await directory.migrate()
        await directory.add_domain("example.org")
        assert [domain.name for domain in await directory.list_domains()] == ["example.org"]
    finally:
        await directory.close()


async def test_every_spelling_of_a_url_reaches_the_same_database(database_url: str) -> None:
    writer = await Directory.connect(DirectoryConfig(url=database_url))
    await writer.migrate()
    await writer.add_domain("example.org")
    await writer.close()
    respelled = (
        database_url.replace("mysql://", "mariadb://")
        .replace("postgresql://", "postgres://")
        .replace("sqlite:///", "SQLite:///")
    )
    reader = await Directory.connect(DirectoryConfig(url=respelled))
    try:
        assert await reader.is_local_domain("example.org")
    finally:
        await reader.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens (bound, so nobody else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("scheme", "name"), [("mysql", "MariaDB/MySQL"), ("postgresql", "PostgreSQL")]
)
async def test_server_that_does_not_answer_is_named_by_host_and_port(
    closed_port: int, scheme: str, name: str
) -> None:
    url = f"{scheme}://mailroom:s3cret-pw@127.0.0.1:{closed_port}/mail"
    with pytest.raises(DatabaseUnavailable) as caught:
        await Directory.connect(DirectoryConfig(url=url))
    message = str(caught.value)
    assert message.startswith(
        f"cannot use the directory database ({name} at "
        f"{scheme}://mailroom:***@127.0.0.1:{closed_port}/mail): "
    )
    assert "s3cret-pw" not in message
    assert "\n" not in message


async def test_server_refusing_the_login_says_so_without_the_password() -> None:
    url = "mysql://nosuchuser:s3cret-pw@127.0.0.1:3306/mail"
    with pytest.raises(DatabaseUnavailable) as caught:
        await Directory.connect(DirectoryConfig(url=url))
    assert str(caught.value) == (
        "cannot use the directory database "
        "(MariaDB/MySQL at mysql://nosuchuser:***@127.0.0.1:3306/mail): "
        "Access denied for user 'nosuchuser'@'127.0.0.1' (using password: YES)"
    )


async def test_sqlite_file_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "dir.db"
    with pytest.raises(DatabaseUnavailable) as caught:
        await Directory.connect(DirectoryConfig(url=f"sqlite:///{path}"))
    assert str(caught.value) == (
        f"cannot use the directory database (SQLite file {path}): "
        f"its directory {path.parent} does not exist"
    )


async def test_account_survives_closing_and_reopening(tmp_path: Path) -> None:
    config = DirectoryConfig(url="sqlite:///dir.db")
    first = await Directory.connect(config, tmp_path)
    await first.migrate()
    await first.add_domain("example.org")
    added = await first.add_account("alice@example.org", HASH, quota_bytes=1)
    await first.close()
    second = await Directory.connect(config, tmp_path)
    try:
        assert await second.get_account("alice@example.org") == added
    finally:
        await second.close()
