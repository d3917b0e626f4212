"""A CA's CRL distribution point in tests: a small HTTP/1.0 server on 127.0.0.1 that
serves what the test puts at a path, counts the requests, and can be told to stay
silent (for the fetch's time limit)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class CrlServer:
    files: dict[str, bytes] = field(default_factory=dict)
    """Path -> body; other paths answer 404."""
    requests: Counter[str] = field(default_factory=Counter)
    silent: bool = False
    """Accept, then never answer."""
    port: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at the end: a `silent` server's handlers then close their connections."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode()
            self.requests[path] += 1
            if self.silent:
                await self.released.wait()
                return
            body = self.files.get(path)
            if body is None:
                writer.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(
                    b"HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def start_crl_server() -> AsyncIterator[CrlServer]:
    crl_server = CrlServer()
    server = await asyncio.start_server(crl_server._serve, "127.0.0.1", 0)
    crl_server.port = server.sockets[0].getsockname()[1]
    try:
        yield crl_server
    finally:
        crl_server.released.set()
        server.close()
