"""`[log] destination = "syslog"`: lines go to the local syslog socket (a datagram socket
the test binds where /dev/log would be), from a thread; and JSON lines on standard
error."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.app.logging_setup import configure_logging, stop_logging
from mailroom.config import Config, ConfigError, parse_config


@pytest.fixture(autouse=True)
def root_level() -> Iterator[None]:
    """configure_logging sets the root logger's level: put it back, and take away what
    it installed."""
    level = logging.getLogger().level
    yield
    stop_logging()
    logging.getLogger().setLevel(level)


def config_with(tmp_path: Path, log_table: str) -> Config:
    text = f'hostname = "mail.example.test"\n\n[log]\n{log_table}\n'
    return parse_config(text, tmp_path / "mailroom.toml")


@pytest.fixture
def syslog_socket(tmp_path: Path) -> Iterator[socket.socket]:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / "log"))
    receiver.settimeout(30)
    yield receiver
    receiver.close()


def test_lines_go_to_the_local_syslog_socket_as_one_line_each(
    tmp_path: Path, syslog_socket: socket.socket
) -> None:
    config = config_with(
        tmp_path,
        f'destination = "syslog"\nsyslog_socket = "{tmp_path / "log"}"\nfacility = "local3"',
    )
    configure_logging(config)
    logging.getLogger("mailroom.smtp").warning("refused: %s", "HELO x\r\nforged line\x00")
    datagram = syslog_socket.recv(65536)
    assert (
        datagram
        == (
            f"<{19 * 8 + 4}>mailroom[{os.getpid()}]: WARNING mailroom.smtp: "
            "refused: HELO x\\r\\nforged line\\x00\x00"
        ).encode()
    )


def test_json_lines_on_standard_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(config_with(tmp_path, 'format = "json"'), process="worker 2")
    logging.getLogger("mailroom.imap").info("login ok\nfor %s", "alice@example.test")
    (line,) = capsys.readouterr().err.splitlines()
    fields = json.loads(line)
    assert fields.pop("time").endswith("Z")
    assert fields == {
        "level": "info",
        "logger": "mailroom.imap",
        "host": "mail.example.test",
        "pid": os.getpid(),
        "process": "worker 2",
        "message": "login ok\nfor alice@example.test",
    }


def test_text_lines_on_standard_error_are_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(config_with(tmp_path, 'level = "warning"'))
    logging.getLogger("mailroom.queue").info("not shown")
    logging.getLogger("mailroom.queue").warning("shown")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(" WARNING mailroom.queue: shown")


def test_remote_needs_an_address() -> None:
    with pytest.raises(ConfigError, match='destination = "remote" needs remote'):
        parse_config('[log]\ndestination = "remote"\n', Path("m.toml"))
