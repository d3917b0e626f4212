"""`Connection.writelines` (one writev of many pieces) and `Connection.buffered_line`, on
real loopback sockets under both event loops the server may run (uvloop in production,
asyncio's own): whatever the pieces, their number (more than IOV_MAX), the kernel
taking only part of a write, a client reading slowly through a small window, writes
held by `write` before them, or compression, the client receives exactly the pieces
joined, in order."""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.net.connection import Connection, _StreamProtocol

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}


class _Made(_StreamProtocol):
    """The server's protocol, handed over once it has its transport."""

    def __init__(self, made: asyncio.Future[_StreamProtocol]) -> None:
        super().__init__()
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.made.set_result(self)


Op = tuple[str, list[bytes]]
"""("write", [data]) through `write`, ("lines", pieces) through `writelines`, or
("drain", []): what the server does, in order."""


def run(loop_name: str, coroutine: Coroutine[Any, Any, bytes]) -> bytes:
    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        return runner.run(coroutine)


async def exchange(ops: list[Op], *, compress: bool = False, window: int = 4096) -> bytes:
    """Run `ops` on the server side of a fresh loopback connection whose client reads
    1 KiB at a time through a receive buffer of `window` bytes (and the server's send
    buffer small too, so writes are taken in part); what the client received
    (inflated when `compress`)."""
    loop = asyncio.get_running_loop()
    made: asyncio.Future[_StreamProtocol] = loop.create_future()
    server = await loop.create_server(lambda: _Made(made), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
    client.setblocking(False)
    try:
        await loop.sock_connect(client, ("127.0.0.1", port))
        protocol = await made
        assert protocol.transport is not None
        sock = protocol.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, window)
        connection = Connection(protocol.transport, protocol, idle_timeout=30, listener_name="t")

        async def serve() -> None:
            if compress:
                connection.start_compression()
            for kind, pieces in ops:
                if kind == "write":
                    connection.write(pieces[0])
                elif kind == "lines":
                    connection.writelines(pieces)
                else:
                    await connection.drain()
            await connection.drain()
            connection.close()

        async def receive() -> bytes:
            received = bytearray()
            while chunk := await loop.sock_recv(client, 1024):
                received += chunk
                await asyncio.sleep(0)  # a slow reader: the server's writes wait for room
            return bytes(received)

        _, data = await asyncio.gather(serve(), receive())
    finally:
        client.close()
        server.close()
        await server.wait_closed()
    if compress:
        inflater = zlib.decompressobj(-15)
        return inflater.decompress(data) + inflater.flush()
    return data


def sent(ops: list[Op]) -> bytes:
    return b"".join(b"".join(pieces) for _, pieces in ops)


pieces = st.lists(st.binary(max_size=3000), max_size=40)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("lines"), pieces),
        st.tuples(st.just("write"), st.binary(max_size=20_000).map(lambda b: [b])),
        st.just(("drain", [])),
    ),
    max_size=12,
)


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
@settings(max_examples=40, deadline=None)
@given(ops=operations, compress=st.booleans())
def test_pieces_arrive_whole_and_in_order(loop_name: str, ops: list[Op], compress: bool) -> None:
    assert run(loop_name, exchange(ops, compress=compress)) == sent(ops)


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_more_pieces_than_one_writev_takes_reach_a_slow_reader(loop_name: str) -> None:
    # 3,000 pieces (Linux's IOV_MAX is 1,024) of 2 MB in all, after a held write: the
    # kernel takes a little at a time through the small window.
    burst = [bytes([n % 251]) * (n % 1500) for n in range(3000)]
    ops: list[Op] = [("write", [b"+OK held\r\n"]), ("lines", burst), ("write", [b".\r\n"])]
    assert run(loop_name, exchange(ops)) == sent(ops)


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_nothing_is_written_after_close(loop_name: str) -> None:
    async def closed_then_written() -> bytes:
        loop = asyncio.get_running_loop()
        made: asyncio.Future[_StreamProtocol] = loop.create_future()
        server = await loop.create_server(lambda: _Made(made), "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        protocol = await made
        assert protocol.transport is not None
        connection = Connection(protocol.transport, protocol, idle_timeout=30, listener_name="t")
        connection.writelines([b"before\r\n"])
        connection.close()
        connection.writelines([b"after\r\n"])  # ignored, as write is
        data = await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return data

    assert run(loop_name, closed_then_written()) == b"before\r\n"
