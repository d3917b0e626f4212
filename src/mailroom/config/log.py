"""`[log]`: how much is logged and where it goes: standard error (the journal under
systemd), the local syslog socket, or a remote syslog server over TCP with TLS."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from mailroom.config.section import Section


class LogDestination(StrEnum):
    STDERR = "stderr"
    """Standard error, one line each (the journal under systemd)."""
    SYSLOG = "syslog"
    """The local syslog socket (`syslog_socket`): rsyslog or journald take it from there."""
    REMOTE = "remote"
    """A syslog server over TCP with TLS (RFC 5425), at `remote`."""


class LogFormat(StrEnum):
    TEXT = "text"
    """One line of text: time, level, logger, message."""
    JSON = "json"
    """One JSON object per line: time, level, logger, message, host, pid."""


SYSLOG_FACILITIES = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    **{f"local{n}": 16 + n for n in range(8)},
}
"""RFC 5424 §6.2.1's facility numbers by their usual names."""


class LogConfig(Section):
    """Where log lines go. Whatever the destination, logging never waits for it: lines
    are handed to a thread, and a remote server that is down gets them when it is back
    (up to `buffer_lines`)."""

    level: str = "info"
    """debug, info, warning or error."""
    destination: LogDestination = LogDestination.STDERR
    """`stderr`, `syslog` (the local socket) or `remote` (syslog over TLS, RFC 5425)."""
    format: LogFormat = LogFormat.TEXT
    """`text` or `json` (one JSON object per line, for a log collector)."""
    facility: str = "mail"
    """Syslog facility of the lines sent to syslog (local or remote): mail, daemon,
    local0 ... local7."""
    syslog_socket: Path = Path("/dev/log")
    """The local syslog socket, for `destination = "syslog"`."""
    remote: str | None = None
    """`host:port` of the remote syslog server (6514 is RFC 5425's port), for
    `destination = "remote"`; IPv6 in brackets."""
    remote_ca_file: Path | None = None
    """PEM CA certificates to verify the remote server's certificate with (default: the
    system's). Its name must be the host of `remote` (or `remote_server_name`)."""
    remote_server_name: str | None = None
    """The name the remote server's certificate must carry, if not the host of `remote`."""
    remote_certificate: Path | None = None
    """A client certificate (PEM chain) to present to the remote server, for servers that
    take only known clients (rsyslog's `StreamDriver.AuthMode="x509/name"`); with
    `remote_key`. Read at start, before the server drops root."""
    remote_key: Path | None = None
    """The client certificate's private key (PEM)."""
    buffer_lines: int = Field(default=10_000, ge=1, le=10_000_000)
    """Lines kept while the remote server cannot be reached; beyond them the oldest are
    dropped, and how many is logged when it is back."""

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("expected debug, info, warning or error")
        return value.lower()

    @field_validator("facility")
    @classmethod
    def _facility(cls, value: str) -> str:
        if value.lower() not in SYSLOG_FACILITIES:
            raise ValueError(f"{value!r} is not a syslog facility: expected mail, daemon, local0…")
        return value.lower()

    @field_validator("remote")
    @classmethod
    def _remote(cls, value: str | None) -> str | None:
        if value is None:
            return value
        shape = re.fullmatch(r"\[[0-9A-Fa-f:.]+\]:(\d{1,5})|[^:\[\]\s]+:(\d{1,5})", value)
        if shape is None or not 0 < int(shape.group(1) or shape.group(2)) < 65536:
            raise ValueError(f'{value!r} is not host:port (IPv6 in brackets: "[::1]:6514")')
        return value

    @model_validator(mode="after")
    def _remote_given(self) -> LogConfig:
        if self.destination is LogDestination.REMOTE and self.remote is None:
            raise ValueError('destination = "remote" needs remote = "host:port"')
        if (self.remote_certificate is None) != (self.remote_key is None):
            raise ValueError("set both remote_certificate and remote_key, or neither")
        return self

    @property
    def facility_number(self) -> int:
        return SYSLOG_FACILITIES[self.facility]

    def remote_host_port(self) -> tuple[str, int]:
        """The host and port of `remote` (only for `destination = "remote"`)."""
        assert self.remote is not None
        host, _, port = self.remote.rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)
