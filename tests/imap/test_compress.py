"""COMPRESS=DEFLATE (RFC 4978): after the OK, both directions are raw DEFLATE."""

from __future__ import annotations

import asyncio
import zlib

from tests.support.imap_talk import ImapTalk


class Deflated:
    """Both directions of a talk through raw DEFLATE, as a client does after COMPRESS."""

    def __init__(self, talk: ImapTalk) -> None:
        self.talk = talk
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.pending = b""

    async def send(self, line: bytes) -> None:
        data = self.out.compress(line) + self.out.flush(zlib.Z_SYNC_FLUSH)
        await self.talk.send(data)

    async def line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = await asyncio.wait_for(self.talk.reader.read(65536), 10)
            if not chunk:
                raise ConnectionError("closed")
            self.pending += self.inflate.decompress(chunk)
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    async def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = await self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines


async def test_compress_deflate_compresses_both_ways(alice: ImapTalk) -> None:
    reply = await alice.command("COMPRESS DEFLATE")
    assert reply.tagged == b"a2 OK DEFLATE active"
    deflated = Deflated(alice)
    await deflated.send(b"b1 SELECT INBOX\r\n")
    lines = await deflated.until(b"b1")
    assert lines[-1] == b"b1 OK [READ-WRITE] Select completed."
    assert b"* 0 EXISTS" in lines
    await deflated.send(b"b2 COMPRESS DEFLATE\r\n")
    (line,) = await deflated.until(b"b2")
    assert line == b"b2 NO [COMPRESSIONACTIVE] Compression already active."
    await deflated.send(b"b3 LOGOUT\r\n")
    assert (await deflated.until(b"b3"))[0] == b"* BYE Logging out"


async def test_an_unknown_compression_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command("COMPRESS LZMA")
    assert reply.status == "BAD"
    assert (await alice.command("NOOP")).ok
