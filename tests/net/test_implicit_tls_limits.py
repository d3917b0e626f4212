"""An implicit-TLS listener counts a connection before its handshake: over the cap per
address, or with the host's handshakes in progress at their cap, a connection is closed
at once with no TLS work; a silent one is closed at the handshake timeout; a real TLS
client is served once there is room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.config import Config
from mailroom.net import Connection, ListeningServer, Refusal, TlsContexts
from mailroom.net.certificates import write_self_signed_certificate
from mailroom.net.edge_limits import EdgeLimits, HostConnections
from tests.support.mail_host import client_tls

HANDSHAKE_SECONDS = 1.0


class Greeter:
    async def handle(self, connection: Connection) -> None:
        await connection.send(b"hello over TLS\r\n")

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(b"refused\r\n")

    def stopping(self) -> None:
        """Sessions end at once."""


async def implicit_server(
    tmp_path: Path, limits: EdgeLimits, **listener: object
) -> ListeningServer:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed_certificate(cert, key, "mail.example.test")
    fields = {"name": "imaps", "protocol": "imap", "address": "127.0.0.1:0", "tls": "implicit"}
    config = Config.model_validate(
        {"tls": {"certificate": str(cert), "key": str(key)}, "listeners": [fields | listener]}
    )
    server = ListeningServer(
        config.listeners[0], Greeter(), TlsContexts(config), connections=HostConnections(limits)
    )
    await server.start()
    return server


@pytest.fixture
async def servers() -> AsyncIterator[list[ListeningServer]]:
    started: list[ListeningServer] = []
    yield started
    for server in started:
        await server.stop(grace=1)


async def silent(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_unanswered(reader: asyncio.StreamReader, seconds: float = 10) -> bool:
    """The server closed the connection without sending a byte (no ServerHello)."""
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except ConnectionResetError:
        return True


async def served(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls())
    line = await reader.readline()
    writer.close()
    return line


async def test_over_the_per_address_cap_a_connection_is_closed_before_tls(
    tmp_path: Path, servers: list[ListeningServer]
) -> None:
    limits = EdgeLimits(
        max_connections=100, max_connections_per_address=2, tls_handshake_timeout=30
    )
    server = await implicit_server(tmp_path, limits)
    servers.append(server)
    held = [await silent(server.port) for _ in range(2)]
    reader, writer = await silent(server.port)
    assert await closed_unanswered(reader)
    writer.close()
    assert server.connections.open == 2
    for _, each in held:
        each.close()


async def test_at_the_handshake_cap_a_connection_is_closed_and_silent_ones_time_out(
    tmp_path: Path, servers: list[ListeningServer], caplog: pytest.LogCaptureFixture
) -> None:
    limits = EdgeLimits(
        max_connections=100,
        max_connections_per_address=100,
        max_tls_handshakes=2,
        tls_handshake_timeout=HANDSHAKE_SECONDS,
    )
    caplog.set_level(logging.INFO, logger="mailroom.net")
    server = await implicit_server(tmp_path, limits)
    servers.append(server)
    held = [await silent(server.port) for _ in range(2)]
    for _ in range(50):  # both counted as handshakes in progress
        if server.connections.handshakes == 2:
            break
        await asyncio.sleep(0.05)
    reader, writer = await silent(server.port)
    assert await closed_unanswered(reader)
    writer.close()
    assert "too many TLS handshakes in progress" in caplog.text
    for each, writer in held:  # the silent ones are closed at the handshake timeout
        assert await closed_unanswered(each, HANDSHAKE_SECONDS * 10)
        writer.close()
    assert await served(server.port) == b"hello over TLS\r\n"
    assert (server.connections.open, server.connections.handshakes) == (0, 0)


async def test_a_listeners_own_cap_holds_before_tls_too(
    tmp_path: Path, servers: list[ListeningServer]
) -> None:
    limits = EdgeLimits(max_connections=100, max_connections_per_address=100)
    server = await implicit_server(tmp_path, limits, max_connections_per_ip=1)
    servers.append(server)
    _, held = await silent(server.port)
    await counted(server, 1)
    other, other_writer = await silent(server.port)
    assert await closed_unanswered(other)
    other_writer.close()
    held.close()
    await counted(server, 0)
    assert await served(server.port) == b"hello over TLS\r\n"


async def counted(server: ListeningServer, connections: int) -> None:
    for _ in range(100):
        if server.connections.open == connections:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{server.connections.open} connections counted, not {connections}")
