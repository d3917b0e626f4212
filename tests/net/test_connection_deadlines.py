"""How slowly a client may send, over real sockets: a command line must be complete
within its deadline however often bytes of it come (slowloris), a message or literal
must keep up a minimum rate, and a client that sends whole lines in time stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from mailroom.config import Listener
from mailroom.config.limits import LimitsConfig
from mailroom.net import Connection, IdleTimeout, ListeningServer, Refusal
from mailroom.net.connection import Deadlines
from mailroom.net.edge_limits import EdgeLimits, HostConnections

DEADLINES = Deadlines(command_line_seconds=1.0, min_data_rate=1000, data_rate_grace_seconds=1.0)
TRICKLE_SECONDS = 0.2
MOST_TRICKLED = 60
"""Bytes a trickling client sends at most (12 s) before the test calls it not closed."""


class LineSession:
    """Greets; `READ n` reads n bytes under the minimum rate; other lines are echoed.
    Says which timeout ended it."""

    async def handle(self, connection: Connection) -> None:
        await connection.send(b"hello\r\n")
        try:
            while True:
                line = await connection.read_line(limit=1000)
                if line.startswith(b"READ "):
                    size = int(line.split()[1])
                    with connection.minimum_rate():
                        remaining = size
                        while remaining:
                            remaining -= len(await connection.read_some(remaining))
                    await connection.send(b"read\r\n")
                else:
                    await connection.send(b"got: " + line)
        except IdleTimeout as error:
            await connection.send(f"timeout: {type(error).__name__}\r\n".encode())

    async def refuse(self, connection: Connection, refusal: Refusal) -> None:
        await connection.send(b"busy\r\n")

    def stopping(self) -> None:
        """Sessions end by the listener's grace."""


@pytest.fixture
async def server() -> AsyncIterator[ListeningServer]:
    listener = Listener(name="slow", protocol="imap", address="127.0.0.1:0", tls="none")
    limits = EdgeLimits(max_connections=100, max_connections_per_address=100, deadlines=DEADLINES)
    running = ListeningServer(listener, LineSession(), None, connections=HostConnections(limits))
    await running.start()
    yield running
    await running.stop(grace=1)


async def trickle(
    writer: asyncio.StreamWriter, reader: asyncio.StreamReader, byte: Callable[[int], bytes]
) -> bytes:
    """Send a byte every TRICKLE_SECONDS until the server answers; its answer."""
    for index in range(MOST_TRICKLED):
        writer.write(byte(index))
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.readline(), TRICKLE_SECONDS)
        except TimeoutError:
            continue
    raise AssertionError("the server let a trickling client go on")


async def opened(server: ListeningServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await reader.readline() == b"hello\r\n"
    return reader, writer


async def test_a_line_sent_a_byte_at_a_time_is_cut_off_at_its_deadline(
    server: ListeningServer,
) -> None:
    reader, writer = await opened(server)
    answer = await trickle(writer, reader, lambda index: b"x")
    assert answer == b"timeout: LineTimeout\r\n"
    assert await reader.read() == b""  # closed
    writer.close()


async def test_whole_lines_in_time_keep_the_connection(server: ListeningServer) -> None:
    reader, writer = await opened(server)
    for _ in range(8):  # 8 × 0.4 s: well past one line's deadline in all
        writer.write(b"a")
        await asyncio.sleep(0.2)
        writer.write(b"b\r\n")
        assert await reader.readline() == b"got: ab\r\n"
        await asyncio.sleep(0.2)
    writer.close()


async def test_a_message_slower_than_the_minimum_rate_is_cut_off(server: ListeningServer) -> None:
    reader, writer = await opened(server)
    writer.write(b"READ 100000\r\n")
    answer = await trickle(writer, reader, lambda index: b"y" * 20)  # 100 bytes/s
    assert answer == b"timeout: TooSlow\r\n"
    writer.close()


async def test_a_message_at_the_minimum_rate_is_read(server: ListeningServer) -> None:
    reader, writer = await opened(server)
    writer.write(b"READ 6000\r\n")
    for _ in range(6):
        writer.write(b"z" * 1000)
        await writer.drain()
        await asyncio.sleep(0.4)  # 2500 bytes/s
    assert await reader.readline() == b"read\r\n"
    writer.close()


async def test_the_line_deadline_counts_from_the_first_byte_not_from_the_wait(
    server: ListeningServer,
) -> None:
    reader, writer = await opened(server)
    await asyncio.sleep(1.5)  # idle (not a line yet) for longer than a line may take
    writer.write(b"late\r\n")
    assert await reader.readline() == b"got: late\r\n"
    writer.close()


def test_deadlines_come_from_the_config() -> None:
    limits = EdgeLimits.derive(
        LimitsConfig(command_line_timeout_seconds=5, min_data_rate=10, data_rate_grace_seconds=7),
        100_000,
    )
    assert limits.deadlines == Deadlines(5, 10, 7)
