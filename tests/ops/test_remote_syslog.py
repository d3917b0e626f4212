"""Logging to a remote syslog server over TLS (RFC 5425): a server the test runs on
127.0.0.1 receives a running `mailroom serve`'s lines; stopped and started again on the
same port, it receives the lines logged meanwhile, up to the buffer, and is told how many
were dropped beyond it."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mailroom.app.logging_format import LineStyle
from mailroom.app.logging_remote import (
    RemoteSyslogHandler,
    remote_syslog_handler,
    syslog_tls_context,
)
from mailroom.app.logging_setup import remote_tls_context
from mailroom.config import parse_config
from mailroom.config.example import ListenerExample as Example
from tests.support.certificate_authority import CertificateAuthority
from tests.support.server_process import logged, prepare_host, prepare_host_ports, start_server
from tests.support.syslog_server import SyslogServer

# RFC 5424 §6: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
SYSLOG_MESSAGE = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (?P<host>\S+) "
    r"(?P<app>\S+) (?P<pid>\d+) (?P<msgid>\S+) - (?P<msg>.*)"
)

MAIL_INFO = 2 * 8 + 6
MAIL_WARNING = 2 * 8 + 4


@pytest.fixture
async def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "ca")


@pytest.fixture
async def syslog(ca: CertificateAuthority) -> AsyncIterator[SyslogServer]:
    server = SyslogServer(ca)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


class Reports:
    """What the sender says about its connection (on standard error in a server)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._said = threading.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._said.set()

    async def first(self) -> str:
        assert await asyncio.to_thread(self._said.wait, 60)
        return self.lines[0]


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("mailroom.test.remote")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def handler_for(
    logger: logging.Logger, port: int, ca_file: Path, reports: Reports, buffer_lines: int
) -> RemoteSyslogHandler:
    handler = remote_syslog_handler(
        "127.0.0.1",
        port,
        syslog_tls_context(ca_file),
        LineStyle("mail.example.test"),
        facility=2,
        buffer_lines=buffer_lines,
        report=reports,
    )
    logger.addHandler(handler)
    return handler


def text_of(message: str) -> str:
    match = SYSLOG_MESSAGE.fullmatch(message)
    assert match is not None, message
    return match.group("msg")


async def test_lines_beyond_the_buffer_are_dropped_and_counted_while_the_server_is_down(
    logger: logging.Logger, syslog: SyslogServer, ca: CertificateAuthority
) -> None:
    handler = handler_for(logger, syslog.port, ca.ca_file, Reports(), buffer_lines=3)
    try:
        logger.info("before the outage")
        await syslog.containing("before the outage")
        await syslog.stop()
        for word in ("one", "two", "three", "four", "five"):
            logger.info("during the outage: %s", word)
        await syslog.start()
        await syslog.containing("during the outage: five")
    finally:
        await asyncio.to_thread(handler.close)
    assert [text_of(m) for m in syslog.messages] == [
        "INFO mailroom.test.remote: before the outage",
        "WARNING mailroom.log: 2 log line(s) dropped while the syslog server could not be "
        "reached (buffer of 3 lines full)",
        "INFO mailroom.test.remote: during the outage: three",
        "INFO mailroom.test.remote: during the outage: four",
        "INFO mailroom.test.remote: during the outage: five",
    ]
    assert SYSLOG_MESSAGE.fullmatch(syslog.messages[1])["pri"] == str(MAIL_WARNING)  # type: ignore[index]
    assert syslog.refusals == []


async def test_a_server_down_at_the_start_gets_the_lines_when_it_comes_up(
    logger: logging.Logger, ca: CertificateAuthority
) -> None:
    syslog = SyslogServer(ca)
    reports = Reports()
    handler = handler_for(logger, syslog.port, ca.ca_file, reports, buffer_lines=100)
    try:
        logger.info("said before the server was up")
        said = await reports.first()
        assert said.startswith(f"remote syslog 127.0.0.1:{syslog.port}: cannot connect: ")
        assert said.endswith("; keeping up to 100 lines until it is back")
        await syslog.start()
        (message,) = await syslog.containing("said before the server was up")
    finally:
        await asyncio.to_thread(handler.close)
        await syslog.close()
    assert SYSLOG_MESSAGE.fullmatch(message)["pri"] == str(MAIL_INFO)  # type: ignore[index]
    assert reports.lines[-1].endswith("reachable again; sending the kept lines")


async def test_a_server_whose_certificate_does_not_verify_gets_nothing(
    logger: logging.Logger, syslog: SyslogServer, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "other-ca", "Someone Else's CA")
    reports = Reports()
    handler = handler_for(logger, syslog.port, stranger.ca_file, reports, buffer_lines=10)
    try:
        logger.info("a secret")
        said = await reports.first()
    finally:
        await asyncio.to_thread(handler.close)
    assert "no TLS session" in said
    assert "CERTIFICATE_VERIFY_FAILED" in said
    assert syslog.messages == []
    assert (
        reports.lines[-1] == f"1 log line(s) not sent to the syslog server 127.0.0.1:{syslog.port}"
    )


async def test_a_client_certificate_is_presented_to_a_server_that_asks_for_one(
    logger: logging.Logger, ca: CertificateAuthority, tmp_path: Path
) -> None:
    syslog = SyslogServer(ca, clients_from_ca=True)
    await syslog.start()
    client = ca.client_certificate("mail.example.test")
    config = parse_config(
        f'[log]\ndestination = "remote"\nremote = "127.0.0.1:{syslog.port}"\n'
        f'remote_ca_file = "{ca.ca_file}"\nremote_certificate = "{client.certificate_file}"\n'
        f'remote_key = "{client.key_file}"\n',
        tmp_path / "mailroom.toml",
    )
    handler = remote_syslog_handler(
        "127.0.0.1",
        syslog.port,
        remote_tls_context(config),
        LineStyle("mail.example.test"),
        facility=2,
        buffer_lines=10,
        report=Reports(),
    )
    logger.addHandler(handler)
    try:
        logger.info("from a known client")
        await syslog.containing("from a known client")
    finally:
        await asyncio.to_thread(handler.close)
        await syslog.close()


async def smtp_visit(port: int) -> int:
    """Connect to the SMTP listener, read the greeting, quit; the client's port (the
    server logs `connect from [127.0.0.1]:PORT` before it greets)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert (await reader.readline()).startswith(b"220 ")
        writer.write(b"QUIT\r\n")
        assert (await reader.readline()).startswith(b"221 ")
        return int(writer.get_extra_info("sockname")[1])
    finally:
        writer.close()
        await writer.wait_closed()


def remote_log_settings(syslog: SyslogServer, ca: CertificateAuthority) -> dict[str, str]:
    return {
        '# destination = "stderr"': 'destination = "remote"',
        '# remote = "logs.example.org:6514"  # example; default: none': (
            f'remote = "127.0.0.1:{syslog.port}"'
        ),
        '# remote_ca_file = "tls/logs-ca.pem"  # example; default: none (the system\'s CAs)': (
            f'remote_ca_file = "{ca.ca_file}"'
        ),
    }


async def test_a_running_server_logs_to_remote_syslog_and_catches_up_after_an_outage(
    tmp_path: Path, syslog: SyslogServer, ca: CertificateAuthority
) -> None:
    config, smtp_port = await prepare_host(tmp_path / "host", remote_log_settings(syslog, ca))
    server = await start_server(config)
    try:
        before = await smtp_visit(smtp_port)
        (first,) = await syslog.containing(f"connect from [127.0.0.1]:{before} on smtp")
        await syslog.stop()
        during = [await smtp_visit(smtp_port) for _ in range(3)]
        # The server says on standard error that it holds the lines (so they were
        # logged while the syslog server was down, not sent after it came back).
        await logged(config, f"remote syslog 127.0.0.1:{syslog.port}: cannot connect")
        await syslog.start()
        arrived = await syslog.containing(
            *(f"connect from [127.0.0.1]:{port} on smtp" for port in during)
        )
        await logged(config, f"remote syslog 127.0.0.1:{syslog.port} reachable again")
    finally:
        server.terminate()
        await server.wait()
    fields = SYSLOG_MESSAGE.fullmatch(first)
    assert fields is not None
    assert (fields["pri"], fields["host"], fields["app"], fields["msgid"]) == (
        str(MAIL_INFO),
        "mail.example.test",
        "mailroom",
        "mailroom.smtp",
    )
    assert fields["pid"] == str(server.pid)
    assert fields["msg"] == f"INFO mailroom.smtp: connect from [127.0.0.1]:{before} on smtp"
    # In the order they were logged, and after the outage.
    assert [syslog.messages.index(m) for m in arrived] == sorted(
        syslog.messages.index(m) for m in arrived
    )
    assert syslog.messages.index(arrived[0]) > syslog.messages.index(first)
    assert syslog.refusals == []


async def imap_id(port: int, name: str) -> None:
    """An IMAP client that sends only ID (RFC 2971), which the serving process logs."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert (await reader.readline()).startswith(b"* OK")
        writer.write(f'a ID ("name" "{name}")\r\nb LOGOUT\r\n'.encode())
        while not (await reader.readline()).startswith(b"b OK"):
            pass
    finally:
        writer.close()
        await writer.wait_closed()


async def test_worker_processes_send_their_own_lines(
    tmp_path: Path, syslog: SyslogServer, ca: CertificateAuthority
) -> None:
    settings = {**remote_log_settings(syslog, ca), "# workers = 1": "workers = 2"}
    listeners = (Example("smtp", "smtp", 0, "starttls"), Example("imap", "imap", 0, "starttls"))
    config, ports = await prepare_host_ports(tmp_path / "host", settings, listeners)
    server = await start_server(config)
    try:
        await imap_id(ports["imap"], "ops-probe")
        (line,) = await syslog.containing("ID name='ops-probe'")
    finally:
        server.terminate()
        await server.wait()
    fields = SYSLOG_MESSAGE.fullmatch(line)
    assert fields is not None
    worker = fields["pid"]
    assert worker != str(server.pid)  # a worker's own line, not relayed by the main process
    assert re.match(rf"INFO \[worker [01] {worker}\] mailroom\.imap: ", fields["msg"])
