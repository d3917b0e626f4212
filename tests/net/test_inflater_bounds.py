"""IMAP COMPRESS=DEFLATE input (RFC 4978) is inflated only as far as the session has room
for: a "zip bomb" never sits inflated in memory, hostile input ends the connection
without an exception, and everything a well-behaved client compressed arrives intact."""

from __future__ import annotations

import asyncio
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.net import Connection, LineTooLong
from mailroom.net.connection import HIGH_WATER, MAX_COMPRESSED_PENDING, _StreamProtocol

FAST = settings(max_examples=200, deadline=None)


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def compressing() -> _StreamProtocol:
    protocol = _StreamProtocol()
    protocol.inflater = zlib.decompressobj(-15)
    return protocol


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    pieces, start = [], 0
    for size in sizes:
        pieces.append(data[start : start + size])
        start += size
    pieces.append(data[start:])
    return [piece for piece in pieces if piece]


def bounded(protocol: _StreamProtocol, largest_chunk: int) -> bool:
    return (
        len(protocol.buffer) <= HIGH_WATER
        and len(protocol.compressed) <= MAX_COMPRESSED_PENDING + largest_chunk
    )


@FAST
@given(
    st.binary(max_size=2000) | st.sampled_from([b"\0" * 3_000_000, b"a\r\n" * 400_000]),
    st.lists(st.integers(1, 70_000), max_size=20),
    st.integers(1, 300_000),
)
def test_compressed_input_arrives_whole_and_never_inflates_past_the_room(
    data: bytes, sizes: list[int], take: int
) -> None:
    protocol = compressing()
    pieces = chunks(deflate(data), sizes)
    largest = max((len(piece) for piece in pieces), default=0)
    received = bytearray()
    for piece in pieces:
        protocol.data_received(piece)
        assert bounded(protocol, largest)
        received += protocol.buffer[:take]  # the session reads some
        del protocol.buffer[:take]
        protocol.consumed()
        assert bounded(protocol, largest)
    while protocol.buffer or protocol.inflate():
        received += protocol.buffer
        del protocol.buffer[:]
        protocol.consumed()
    assert bytes(received) == data
    assert not protocol.closed


@FAST
@given(st.binary(max_size=5000), st.lists(st.integers(1, 2000), max_size=10))
def test_hostile_compressed_input_is_read_or_closes_the_connection(
    garbage: bytes, sizes: list[int]
) -> None:
    protocol = compressing()
    for piece in chunks(garbage, sizes):
        protocol.data_received(piece)
        assert len(protocol.buffer) <= HIGH_WATER
        del protocol.buffer[: len(protocol.buffer) // 2]
        protocol.consumed()
    if protocol.closed:
        assert protocol.inflater is None and protocol.compressed == b""


async def test_a_bomb_over_a_socket_is_read_line_by_line_in_bounded_memory() -> None:
    """60 MiB of one endless line in 61 KB: the session discards it as too long, and
    its buffer never held more than its room."""
    loop = asyncio.get_running_loop()
    bomb = deflate(b"A" * (60 * 1024 * 1024) + b"\r\nNEXT\r\n")
    assert len(bomb) < 100_000
    accepted: asyncio.Future[Connection] = loop.create_future()

    def made() -> _StreamProtocol:
        protocol = _StreamProtocol()
        original = protocol.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            original(transport)
            assert protocol.transport is not None
            accepted.set_result(Connection(protocol.transport, protocol, 30, "test"))

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol

    server = await loop.create_server(made, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = await accepted
    connection.start_compression()
    writer.write(bomb)
    largest = 0
    read: list[bytes] = []

    async def session() -> None:
        nonlocal largest
        while len(read) < 2:
            try:
                read.append(await connection.read_line(1000))
            except LineTooLong:
                read.append(b"too long")
            largest = max(largest, len(connection._protocol.buffer))

    await asyncio.wait_for(session(), 60)
    assert read == [b"too long", b"NEXT\r\n"]
    assert largest <= HIGH_WATER
    connection.close()
    assert connection._protocol.inflater is None
    writer.close()
    server.close()
    await server.wait_closed()
