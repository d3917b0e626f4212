"""`Connection.buffered_line` (a whole line already buffered, taken without waiting)
mixed with `read_line` against hostile input in any chunking: the lines come out as
`read_line` alone gives them, an over-long or unfinished line is never taken by it."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.net.connection import Connection, ConnectionClosed, LineTooLong, _StreamProtocol
from tests.net.test_line_reader_property import LoopbackTransport, expected_lines, hostile_bytes


async def read_mixed(chunks: list[bytes], limit: int) -> list[bytes | str]:
    protocol = _StreamProtocol()
    transport = LoopbackTransport()
    protocol.connection_made(transport)
    connection = Connection(transport, protocol, idle_timeout=5, listener_name="test")
    lines: list[bytes | str] = []

    async def reader() -> None:
        while True:
            try:
                lines.append(await connection.read_line(limit))
            except LineTooLong as error:
                lines.append("LONG-CRLF" if error.ended_with_crlf else "LONG-LF")
            except ConnectionClosed:
                return
            # What has arrived already, without waiting, as a POP3 burst is answered.
            while (line := connection.buffered_line(limit)) is not None:
                assert line.endswith(b"\n") and len(line) <= limit
                lines.append(line)

    task = asyncio.create_task(reader())
    for chunk in chunks:
        protocol.data_received(chunk)
        for _ in range(3):
            await asyncio.sleep(0)
    protocol.eof_received()
    await task
    return lines


@settings(max_examples=300, deadline=None)
@given(hostile_bytes, st.integers(1, 30), st.data())
def test_buffered_lines_are_the_lines_read_line_gives(
    data: bytes, limit: int, draw: st.DataObject
) -> None:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=10)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert asyncio.run(read_mixed(chunks, limit)) == expected_lines(data, limit)


def test_an_unfinished_or_over_long_line_is_left_to_read_line() -> None:
    async def check() -> None:
        protocol = _StreamProtocol()
        transport = LoopbackTransport()
        protocol.connection_made(transport)
        connection = Connection(transport, protocol, idle_timeout=5, listener_name="test")
        protocol.data_received(b"RETR 1")
        assert connection.buffered_line(10) is None
        protocol.data_received(b"2345678\r\nNOOP\r\n")
        assert connection.buffered_line(10) is None  # 16 bytes: read_line refuses it
        assert protocol.buffer == bytearray(b"RETR 12345678\r\nNOOP\r\n")

    asyncio.run(check())
