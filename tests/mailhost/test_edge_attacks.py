"""The attacks of issue #17 on the edge, repeated against a real `mailroom serve` process,
and how it holds:

- 2,000 silent connections to the implicit-TLS IMAP port (from 127.0.0.2, still the
  loopback) hold at most the per-address cap, each for the handshake timeout, and a
  normal client from 127.0.0.1 is served on every port meanwhile; the server raised
  its open-file limit from the 1,024 it was started with;
- slowloris clients (a byte now and then; a message or an APPEND trickled) are closed
  at their configured deadline with the protocol's goodbye;
- five COMPRESS=DEFLATE bombs leave the server's memory (its RSS, from /proc) within
  10% of where it started;
- one address's connections count together on SMTP, IMAP and POP3, with IMAP and POP3
  served by worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import poplib
import re
import resource
import signal
import smtplib
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom.config.example import ListenerExample
from tests.support.mail_host import PASSWORD, client_tls
from tests.support.server_process import logged, prepare_host_ports, start_server

LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("submission", "submission", 0, "starttls"),
    ListenerExample("smtps", "submission", 0, "implicit"),
    ListenerExample("imap", "imap", 0, "starttls"),
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3", "pop3", 0, "starttls"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
    ListenerExample("managesieve", "managesieve", 0, "starttls"),
)
LINE_SECONDS = 1.5
HANDSHAKE_SECONDS = 3
SETTINGS = {
    "# command_line_timeout_seconds = 60": f"command_line_timeout_seconds = {LINE_SECONDS}",
    "# min_data_rate = 500": "min_data_rate = 1000",
    "# data_rate_grace_seconds = 30": "data_rate_grace_seconds = 1",
    "# tls_handshake_timeout_seconds = 10": f"tls_handshake_timeout_seconds = {HANDSHAKE_SECONDS}",
}
PER_ADDRESS = 50
"""`[limits] max_connections_per_address` as shipped (a listener's own
`max_connections_per_ip`, 20, is lower)."""
STARTED_WITH_OPEN_FILES = 1024
"""systemd's default soft limit, which 1,100 silent connections used up."""
SILENT = 2000
ATTACKER = "127.0.0.2"
TRICKLE_SECONDS = 0.3
MOST_TRICKLED = 100
"""Bytes (30 s) a trickling client sends before the test calls it never closed."""


@dataclass
class Server:
    process: asyncio.subprocess.Process
    config: Path
    ports: dict[str, int]

    @property
    def pid(self) -> int:
        return self.process.pid

    def open_files(self) -> int:
        return len(list(Path(f"/proc/{self.pid}/fd").iterdir()))

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None
        return int(match.group(1))

    def soft_open_file_limit(self) -> int:
        limits = Path(f"/proc/{self.pid}/limits").read_text()
        match = re.search(r"^Max open files\s+(\d+)", limits, re.MULTILINE)
        assert match is not None
        return int(match.group(1))


def lowered_open_file_limit() -> None:
    """In the server's process before it runs: the soft limit systemd gives by default."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (STARTED_WITH_OPEN_FILES, hard))


async def running_server(
    root: Path, settings: dict[str, str], listeners: tuple[ListenerExample, ...] = LISTENERS
) -> AsyncIterator[Server]:
    config, ports = await prepare_host_ports(root, settings, listeners)
    process = await start_server(config, before_exec=lowered_open_file_limit)
    try:
        yield Server(process, config, ports)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async for running in running_server(tmp_path / "host", SETTINGS):
        yield running


@pytest.fixture
def many_open_files() -> None:
    """This test process holds the attacker's sockets: its own soft limit goes up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= SILENT + 500, f"the hard open-file limit {hard} is too low for the test"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, SILENT + 500), hard))


# -- a normal client on every port ------------------------------------------------------


def served_on_every_port(ports: dict[str, int]) -> list[str]:
    """A normal client's short session on each listener; what each said."""
    tls = client_tls()
    said = []
    with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=20) as smtp:
        said.append(f"smtp {smtp.ehlo()[0]}")
    with smtplib.SMTP("127.0.0.1", ports["submission"], timeout=20) as submission:
        submission.starttls(context=tls)
        said.append(f"submission {submission.login('alice@example.test', PASSWORD)[0]}")
    with smtplib.SMTP_SSL("127.0.0.1", ports["smtps"], timeout=20, context=tls) as smtps:
        said.append(f"smtps {smtps.login('alice@example.test', PASSWORD)[0]}")
    imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=20)
    imap.starttls(tls)
    said.append(f"imap {imap.login('alice@example.test', PASSWORD)[0]}")
    imap.logout()
    imaps = imaplib.IMAP4_SSL("127.0.0.1", ports["imaps"], ssl_context=tls, timeout=20)
    said.append(f"imaps {imaps.login('alice@example.test', PASSWORD)[0]}")
    imaps.logout()
    pop3 = poplib.POP3("127.0.0.1", ports["pop3"], timeout=20)
    pop3.stls(tls)
    pop3.user("alice@example.test")
    said.append(f"pop3 {pop3.pass_(PASSWORD).split()[0].decode()}")
    pop3.quit()
    pop3s = poplib.POP3_SSL("127.0.0.1", ports["pop3s"], context=tls, timeout=20)
    pop3s.user("alice@example.test")
    said.append(f"pop3s {pop3s.pass_(PASSWORD).split()[0].decode()}")
    pop3s.quit()
    with socket.create_connection(("127.0.0.1", ports["managesieve"]), timeout=20) as sieve:
        greeting = b""
        while not greeting.endswith(b"\r\nOK") and b"\r\nOK " not in greeting:
            piece = sieve.recv(4096)
            assert piece, "the ManageSieve server closed before its greeting"
            greeting += piece
        said.append("managesieve OK")
    return said


EVERY_PORT = [
    "smtp 250",
    "submission 235",
    "smtps 235",
    "imap OK",
    "imaps OK",
    "pop3 +OK",
    "pop3s +OK",
    "managesieve OK",
]


def silent_connection(port: int) -> socket.socket:
    """A connection from the attacker's address that never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((ATTACKER, 0))
    sock.connect_ex(("127.0.0.1", port))
    return sock


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(what)


async def test_silent_connections_to_993_leave_every_port_serving(
    server: Server, many_open_files: None
) -> None:
    assert server.soft_open_file_limit() > STARTED_WITH_OPEN_FILES  # raised at start
    assert await asyncio.to_thread(served_on_every_port, server.ports) == EVERY_PORT
    before = server.open_files()
    flood: list[socket.socket] = []
    try:
        for _ in range(SILENT):
            flood.append(silent_connection(server.ports["imaps"]))
        await logged(server.config, f"refused [{ATTACKER}] before TLS: too many connections")
        # Meanwhile a normal client is served on every port, the implicit-TLS one too.
        assert await asyncio.to_thread(served_on_every_port, server.ports) == EVERY_PORT
        # The server holds no more of them than one address may have.
        assert server.open_files() <= before + PER_ADDRESS + 10
        # Those it held are closed at the handshake timeout, each saying why.
        await until(
            lambda: server.open_files() <= before + 5,
            HANDSHAKE_SECONDS * 10,
            "the silent connections were held past the handshake timeout",
        )
        await logged(server.config, "no TLS session with a client")
    finally:
        for sock in flood:
            sock.close()
    assert await asyncio.to_thread(served_on_every_port, server.ports) == EVERY_PORT


# -- slowloris ------------------------------------------------------------------------


async def trickled(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, piece: bytes
) -> bytes:
    """Send `piece` every TRICKLE_SECONDS until the server answers; its answer (and
    the connection must then close)."""
    for _ in range(MOST_TRICKLED):
        writer.write(piece)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.readline(), TRICKLE_SECONDS)
        except TimeoutError:
            continue
        try:
            rest = await asyncio.wait_for(reader.read(), 10)
        except ConnectionResetError:
            # Closed with a byte of ours still unread in the server's socket: TCP resets
            # instead of a FIN. Closed either way, after the goodbye.
            rest = b""
        assert rest == b""  # and closed
        writer.close()
        return answer
    raise AssertionError("a trickling client was never cut off")


async def opened(
    port: int, greeting_lines: int = 1
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(greeting_lines):
        await reader.readline()
    return reader, writer


async def slow_command(port: int) -> bytes:
    return await trickled(*await opened(port), b"N")


async def test_slowloris_command_lines_are_cut_off_with_a_goodbye(server: Server) -> None:
    many = 10
    answers = await asyncio.gather(
        *(
            slow_command(server.ports[name])
            for name in ("smtp", "imap", "pop3")
            for _ in range(many)
        )
    )
    smtp, imap, pop3 = answers[:many], answers[many : 2 * many], answers[2 * many :]
    assert set(smtp) == {b"421 4.4.2 mail.example.test Error: timeout exceeded\r\n"}
    assert all(answer.startswith(b"* BYE ") for answer in imap)
    assert all(answer.startswith(b"-ERR ") for answer in pop3)
    await logged(server.config, "a command line came too slowly; closing")


async def test_a_message_trickled_into_data_is_cut_off(server: Server) -> None:
    reader, writer = await opened(server.ports["smtp"])
    for command in (b"EHLO client.example", b"MAIL FROM:<>", b"RCPT TO:<alice@example.test>"):
        writer.write(command + b"\r\n")
        while (line := await reader.readline())[3:4] == b"-":
            pass
        assert line.startswith(b"250"), line
    writer.write(b"DATA\r\n")
    assert (await reader.readline()).startswith(b"354")
    answer = await trickled(reader, writer, b"Subject: a line in time, slowly\r\n")
    assert answer == b"421 4.4.2 mail.example.test Error: timeout exceeded\r\n"
    await logged(server.config, "a message or literal came too slowly; closing")


async def test_an_append_trickled_is_cut_off(server: Server) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.ports["imaps"], ssl=client_tls()
    )
    await reader.readline()
    writer.write(f'a LOGIN alice@example.test "{PASSWORD}"\r\n'.encode())
    while not (await reader.readline()).startswith(b"a OK"):
        pass
    writer.write(b"b APPEND INBOX {100000}\r\n")
    assert (await reader.readline()).startswith(b"+")
    answer = await trickled(reader, writer, b"x" * 30 + b"\r\n")
    assert answer.startswith(b"* BYE ")


# -- COMPRESS bombs -------------------------------------------------------------------

BOMB_BYTES = 60 * 1024 * 1024


def bomb() -> bytes:
    """A command line of 60 MiB in about 61 KB of DEFLATE, and a LOGOUT."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(b"c NOOP ")
    for _ in range(BOMB_BYTES // (1024 * 1024)):
        data += compressor.compress(b"A" * (1024 * 1024))
    data += compressor.compress(b"\r\nd LOGOUT\r\n")
    return data + compressor.flush(zlib.Z_SYNC_FLUSH)


async def compressed_session(port: int, payload: bytes) -> bytes:
    """Log in, turn on COMPRESS=DEFLATE, send `payload` (compressed already); what the
    server answered after, inflated."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls())
    await reader.readline()
    writer.write(f'a LOGIN alice@example.test "{PASSWORD}"\r\nb COMPRESS DEFLATE\r\n'.encode())
    while not (await reader.readline()).startswith(b"b OK"):
        pass
    writer.write(payload)
    await writer.drain()
    inflater = zlib.decompressobj(-15)
    answered = b""
    while chunk := await asyncio.wait_for(reader.read(65536), 60):
        answered += inflater.decompress(chunk)
    writer.close()
    return answered


def logout() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(b"c NOOP\r\nd LOGOUT\r\n") + compressor.flush(zlib.Z_SYNC_FLUSH)


async def test_compress_bombs_leave_the_servers_memory_where_it_was(server: Server) -> None:
    port = server.ports["imaps"]
    for _ in range(3):  # the server's usual structures for such a session, made once
        assert b"d OK" in await compressed_session(port, logout())
    before = server.rss_kib()
    payload = bomb()
    assert len(payload) < 100_000
    answers = await asyncio.gather(*(compressed_session(port, payload) for _ in range(5)))
    for answered in answers:
        assert b"BAD Command line too long" in answered  # each bomb was read through
        assert b"d OK" in answered
    after = server.rss_kib()
    assert after <= before * 1.10, f"RSS {before} KiB before the bombs, {after} KiB after"


# -- one address, all listeners, worker processes -------------------------------------

CAPPED = {
    "# workers = 1": "workers = 2",
    "# max_connections_per_address = 50": "max_connections_per_address = 4",
}
CAPPED_LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("imap", "imap", 0, "starttls"),
    ListenerExample("pop3", "pop3", 0, "starttls"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)


async def test_one_address_is_capped_across_listeners_and_workers(tmp_path: Path) -> None:
    async for capped in running_server(tmp_path / "host", CAPPED, CAPPED_LISTENERS):
        ports = capped.ports
        held = [await opened(ports["smtp"]) for _ in range(2)]  # the main process's
        held += [await opened(ports["imap"]) for _ in range(2)]  # the workers'
        reader, writer = await opened(ports["pop3"], greeting_lines=0)
        assert (
            await reader.readline()
            == b"-ERR [SYS/TEMP] Too many connections from this address.\r\n"
        )
        writer.close()
        reader, writer = await opened(ports["smtp"], greeting_lines=0)
        assert (await reader.readline()).startswith(b"421 4.7.0 ")
        writer.close()
        with pytest.raises((ConnectionError, ssl.SSLError)):  # closed before TLS
            await asyncio.open_connection("127.0.0.1", ports["pop3s"], ssl=client_tls())
        held.pop()[1].close()  # an IMAP connection in a worker ends: a POP3 one may come
        for _ in range(100):
            reader, writer = await opened(ports["pop3"], greeting_lines=0)
            greeting = await reader.readline()
            writer.close()
            if greeting.startswith(b"+OK"):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the closed connection's place was never freed")
        for _, each in held:
            each.close()
