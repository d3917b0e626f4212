"""The connection layer, driven over real sockets with a tiny line protocol of the test's
own: it greets, echoes lines, upgrades on STARTTLS and says why it refuses."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mailroom.config import Config
from mailroom.net import (
    Connection,
    IdleTimeout,
    LineTooLong,
    ListeningServer,
    Refusal,
    TlsContexts,
)
from mailroom.net.certificates import write_self_signed_certificate
from tests.support.mail_host import client_tls


class EchoSession:
    """Greets with `hello`, answers `got: LINE`, upgrades on STARTTLS, stops on QUIT."""

    async def handle(self, connection: Connection) -> None:
        await connection.send(b"hello\r\n")
        while True:
            try:
                line = await connection.read_line(limit=64)
            except LineTooLong as error:
                ending = b"CRLF" if error.ended_with_crlf else b"LF"
                await connection.send(b"too long, ended by " + ending + b"\r\n")
                continue
            except IdleTimeout:
                await connection.send(b"timeout\r\n")
                return
            if line == b"STARTTLS\r\n":
                await connection.send(b"go ahead\r\n")
                await connection.start_tls(self.tls_context)
                continue
            if line.startswith(b"TIMEOUT "):  # a session changing its timeout (after login)
                connection.idle_timeout = float(line.split()[1])
                await connection.send(b"ok\r\n")
                continue
            if line == b"QUIT\r\n":
                await connection.send(b"bye\r\n")
                return
            await connection.send(b"got: " + line)

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(f"busy: {refusal.value}\r\n".encode())

    def stopping(self) -> None:
        """Sessions end on QUIT or by the listener's grace."""

    tls_context: ssl.SSLContext


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed_certificate(cert, key, "mail.example.test")
    return cert, key


Start = Callable[..., Any]


@pytest.fixture
async def start(certificate: tuple[Path, Path]) -> AsyncIterator[Start]:
    servers: list[ListeningServer] = []

    async def start_server(**settings: Any) -> ListeningServer:
        fields = {"name": "test", "protocol": "imap", "address": "127.0.0.1:0", "tls": "starttls"}
        fields.update(settings)
        config = Config.model_validate(
            {
                "tls": {"certificate": str(certificate[0]), "key": str(certificate[1])},
                "listeners": [fields],
            }
        )
        contexts = TlsContexts(config)
        session = EchoSession()
        session.tls_context = contexts.for_listener(fields["name"])
        server = ListeningServer(config.listeners[0], session, contexts)
        await server.start()
        servers.append(server)
        return server

    yield start_server
    for server in servers:
        await server.stop(grace=1)


async def connect(
    server: ListeningServer, host: str = "127.0.0.1", **tls: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, server.port, **tls)


async def test_lines_are_answered_in_order(start: Start) -> None:
    server = await start()
    reader, writer = await connect(server)
    assert await reader.readline() == b"hello\r\n"
    writer.write(b"one\r\ntwo\n")
    assert await reader.readline() == b"got: one\r\n"
    assert await reader.readline() == b"got: two\n"
    writer.close()


async def test_an_over_long_line_is_refused_and_the_next_line_still_works(start: Start) -> None:
    server = await start()
    reader, writer = await connect(server)
    await reader.readline()
    writer.write(b"x" * 10_000_000 + b"\r\nshort\r\n")
    assert await reader.readline() == b"too long, ended by CRLF\r\n"
    assert await reader.readline() == b"got: short\r\n"
    writer.write(b"y" * 100 + b"\n")
    assert await reader.readline() == b"too long, ended by LF\r\n"
    writer.write(b"z" * 300_000 + b"\r")
    await writer.drain()
    writer.write(b"\nshort\r\n")  # the CR was in a part already thrown away
    assert await reader.readline() == b"too long, ended by CRLF\r\n"
    assert await reader.readline() == b"got: short\r\n"
    writer.close()


async def test_input_pipelined_before_starttls_is_discarded(start: Start) -> None:
    server = await start()
    reader, writer = await connect(server)
    await reader.readline()
    writer.write(b"STARTTLS\r\nINJECTED\r\n")
    assert await reader.readline() == b"go ahead\r\n"
    await writer.start_tls(client_tls())
    writer.write(b"after\r\n")
    assert await reader.readline() == b"got: after\r\n"
    writer.close()


async def test_implicit_tls_speaks_tls_from_the_first_byte(start: Start) -> None:
    server = await start(tls="implicit")
    reader, writer = await connect(server, ssl=client_tls())
    assert await reader.readline() == b"hello\r\n"
    assert writer.get_extra_info("ssl_object").version() in {"TLSv1.2", "TLSv1.3"}
    writer.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TLS 1.0/1.1 on purpose
async def test_tls_older_than_1_2_is_refused(start: Start) -> None:
    server = await start(tls="implicit")
    context = client_tls()
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await connect(server, ssl=context)


async def test_connections_beyond_the_per_address_limit_are_refused(start: Start) -> None:
    server = await start(max_connections_per_ip=2)
    kept = [await connect(server) for _ in range(2)]
    for reader, _ in kept:
        assert await reader.readline() == b"hello\r\n"
    reader, _ = await connect(server)
    assert await reader.readline() == b"busy: too many connections from this address\r\n"
    assert await reader.read() == b""
    kept[0][1].write(b"QUIT\r\n")
    assert await kept[0][0].readline() == b"bye\r\n"
    assert await kept[0][0].read() == b""
    reader, _writer = await connect(server)  # a place is free again
    assert await reader.readline() == b"hello\r\n"


async def test_connections_beyond_the_listener_limit_are_refused(start: Start) -> None:
    server = await start(max_connections=1)
    reader, _ = await connect(server)
    assert await reader.readline() == b"hello\r\n"
    reader, _ = await connect(server)
    assert await reader.readline() == b"busy: too many connections\r\n"


async def test_a_client_outside_the_allowed_networks_is_dropped_unanswered(start: Start) -> None:
    server = await start(allow_networks=["192.0.2.0/24"])
    reader, _ = await connect(server)
    assert await reader.read() == b""


async def test_a_silent_client_is_told_and_disconnected(start: Start) -> None:
    server = await start(idle_timeout_seconds=0.2)
    reader, _ = await connect(server)
    assert await reader.readline() == b"hello\r\n"
    assert await reader.readline() == b"timeout\r\n"
    assert await reader.read() == b""


async def test_input_keeps_a_client_connected_and_silence_ends_it(start: Start) -> None:
    server = await start(idle_timeout_seconds=1.0)
    reader, writer = await connect(server)
    assert await reader.readline() == b"hello\r\n"
    for number in range(12):  # 2.4 s in all, never 1 s silent
        writer.write(b"%d\r\n" % number)
        assert await reader.readline() == b"got: %d\r\n" % number
        await asyncio.sleep(0.2)
    assert await asyncio.wait_for(reader.readline(), 10) == b"timeout\r\n"


async def test_a_shorter_timeout_set_during_the_session_applies(start: Start) -> None:
    server = await start(idle_timeout_seconds=3600)
    reader, writer = await connect(server)
    assert await reader.readline() == b"hello\r\n"
    writer.write(b"TIMEOUT 0.2\r\n")
    assert await reader.readline() == b"ok\r\n"
    assert await asyncio.wait_for(reader.readline(), 10) == b"timeout\r\n"


async def test_ipv6_loopback_is_served(start: Start) -> None:
    server = await start(address="[::1]:0")
    reader, writer = await connect(server, host="::1")
    assert await reader.readline() == b"hello\r\n"
    writer.write(b"v6\r\n")
    assert await reader.readline() == b"got: v6\r\n"


async def test_a_reloaded_certificate_serves_new_connections_and_spares_old_ones(
    start: Start, certificate: tuple[Path, Path]
) -> None:
    server = await start(tls="implicit")
    old_reader, old_writer = await connect(server, ssl=client_tls())
    await old_reader.readline()
    old_certificate = old_writer.get_extra_info("ssl_object").getpeercert(binary_form=True)

    write_self_signed_certificate(*certificate, "renewed.example.test")
    assert server.tls is not None and server.tls.reload()

    reader, writer = await connect(server, ssl=client_tls())
    await reader.readline()
    assert writer.get_extra_info("ssl_object").getpeercert(binary_form=True) != old_certificate
    old_writer.write(b"still here\r\n")
    assert await old_reader.readline() == b"got: still here\r\n"


async def test_a_broken_certificate_on_reload_keeps_the_old_one(
    start: Start, certificate: tuple[Path, Path]
) -> None:
    server = await start(tls="implicit")
    certificate[0].write_text("not a certificate")
    assert server.tls is not None and not server.tls.reload()
    reader, _ = await connect(server, ssl=client_tls())
    assert await reader.readline() == b"hello\r\n"
