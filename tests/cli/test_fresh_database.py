"""The directory on a fresh MariaDB or PostgreSQL database, as an administrator finds it
after `CREATE DATABASE`: every command, run as a real process, either creates the schema
(as `serve` does) or says in one line what to run; an unreachable server or refused login
is one line naming the URL without its password. Never a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import make_database
from tests.support.installation import Installation, make_installation
from tests.support.mail_host import directory_settings, write_config
from tests.support.server_process import start_server

SQLITE_LINE = 'url = "sqlite:///directory.sqlite3"'


def pointed_at(installation: Installation, url: str) -> Installation:
    """The installation's config with its directory at `url` instead of the SQLite file."""
    text = installation.config.read_text()
    assert SQLITE_LINE in text
    installation.config.write_text(text.replace(SQLITE_LINE, f'url = "{url}"'))
    return installation


@pytest.fixture(params=["mariadb", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on a real SQL server, dropped afterwards."""
    yield from make_database(request.param, tmp_path)


@pytest.fixture
def fresh(fresh_url: str, tmp_path: Path) -> Installation:
    """An installation whose directory is an empty database on a real SQL server."""
    return pointed_at(make_installation(tmp_path / "mailroom"), fresh_url)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_commands_on_a_fresh_database_create_the_schema_or_say_what_to_run(
    fresh: Installation,
) -> None:
    line = one_line_error(fresh.run_process("user", "list"))
    assert line.startswith("mailroom: error: the directory database (")
    assert line.endswith("has no tables yet; create them with `mailroom directory upgrade`")
    assert "no directory tables yet: serve creates them" in succeeded(
        fresh.run_process("config", "check")
    )
    # The first command that changes the directory creates the tables, as serve would.
    assert succeeded(fresh.run_process("domain", "add", "example.test")).strip() == (
        "added domain example.test"
    )
    succeeded(
        fresh.run_process("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n")
    )
    succeeded(fresh.run_process("alias", "add", "team@example.test", "alice@example.test"))
    assert "alice@example.test" in succeeded(fresh.run_process("user", "list"))
    assert "team@example.test" in succeeded(fresh.run_process("alias", "list"))
    assert "OK (1 domain(s)," in succeeded(fresh.run_process("config", "check"))


def test_directory_upgrade_creates_the_tables_once(fresh: Installation) -> None:
    assert succeeded(fresh.run_process("directory", "upgrade")).startswith(
        "created the directory's tables in "
    )
    assert succeeded(fresh.run_process("directory", "upgrade")).startswith(
        "the directory schema is current in "
    )
    assert succeeded(fresh.run_process("domain", "list")) == ""


def test_commands_started_at_once_on_a_fresh_database_both_succeed(
    fresh: Installation,
) -> None:
    """Both create the tables at the same moment; the database's lock puts them in line."""
    environment = {k: v for k, v in os.environ.items() if k != "MAILROOM_CONFIG"}
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "mailroom", "-c", str(fresh.config), "domain", "add", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for name in ("one.test", "two.test", "three.test")
    ]
    for process in started:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
    listed = succeeded(fresh.run_process("domain", "list", "--format", "plain"))
    assert sorted(line.split("\t")[0] for line in listed.splitlines()) == [
        "one.test",
        "three.test",
        "two.test",
    ]


async def test_serve_creates_the_schema_of_a_fresh_database(fresh_url: str, tmp_path: Path) -> None:
    (tmp_path / "host").mkdir()
    config = write_config(tmp_path / "host", directory_settings(fresh_url))
    server = await start_server(config)
    try:
        installation = Installation(config.parent)
        result = await asyncio.to_thread(installation.run_process, "domain", "list")
        assert succeeded(result) == ""
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens (bound, so nobody else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
@pytest.mark.parametrize("args", [("user", "list"), ("domain", "add", "example.test")])
def test_an_unreachable_server_is_one_line_naming_the_url_without_the_password(
    tmp_path: Path, closed_port: int, scheme: str, args: tuple[str, ...]
) -> None:
    installation = make_installation(tmp_path / "mailroom")
    pointed_at(installation, f"{scheme}://mailroom:s3cret-pw@127.0.0.1:{closed_port}/mail")
    line = one_line_error(installation.run_process(*args))
    assert f"{scheme}://mailroom:***@127.0.0.1:{closed_port}/mail" in line
    assert "s3cret-pw" not in line


def test_a_refused_login_is_one_line_naming_the_url_without_the_password(
    tmp_path: Path,
) -> None:
    installation = make_installation(tmp_path / "mailroom")
    pointed_at(installation, "mysql://nosuchuser:s3cret-pw@127.0.0.1:3306/mail")
    line = one_line_error(installation.run_process("domain", "add", "example.test"))
    assert line == (
        "mailroom: error: cannot use the directory database "
        "(MariaDB/MySQL at mysql://nosuchuser:***@127.0.0.1:3306/mail): "
        "Access denied for user 'nosuchuser'@'127.0.0.1' (using password: YES)"
    )
