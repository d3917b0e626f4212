"""The connection layer's line reader against hostile input in any chunking: it returns
each line whole, refuses over-long ones (and says how they ended), and never keeps
more than its limit of an over-long line in memory."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.net.connection import Connection, ConnectionClosed, LineTooLong, _StreamProtocol


class LoopbackTransport(asyncio.Transport):
    """Just enough transport for a Connection fed by the test: nothing goes out."""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("192.0.2.1", 4000), "sockname": ("127.0.0.1", 25)}.get(name, default)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def expected_lines(data: bytes, limit: int) -> list[bytes | str]:
    """What the reader must give: each line, or 'LONG-CRLF'/'LONG-LF' for a refused one."""
    result: list[bytes | str] = []
    rest = data
    while b"\n" in rest:
        line, _, rest = rest.partition(b"\n")
        if len(line) + 1 > limit:
            result.append("LONG-CRLF" if line.endswith(b"\r") else "LONG-LF")
        else:
            result.append(line + b"\n")
    if rest and len(rest) <= limit:
        result.append(rest)
    return result


async def read_all(chunks: list[bytes], limit: int) -> tuple[list[bytes | str], int]:
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

    task = asyncio.create_task(reader())
    largest = 0
    for chunk in chunks:  # the reader runs between chunks, as on a real socket
        protocol.data_received(chunk)
        largest = max(largest, len(protocol.buffer))
        for _ in range(3):
            await asyncio.sleep(0)
    protocol.eof_received()
    await task
    return lines, largest


hostile_bytes = st.lists(
    st.one_of(st.binary(max_size=40), st.sampled_from([b"\r\n", b"\n", b"\r", b".\r\n", b"\x00"])),
    max_size=40,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(hostile_bytes, st.integers(1, 30), st.data())
def test_lines_come_out_whole_whatever_the_chunking(
    data: bytes, limit: int, draw: st.DataObject
) -> None:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=10)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    lines, largest = asyncio.run(read_all(chunks, limit))
    assert lines == expected_lines(data, limit)
    # An over-long line is thrown away as it comes: never more than the limit is kept
    # beyond the chunk just received.
    assert largest <= limit + max((len(chunk) for chunk in chunks), default=0)
