"""A remote syslog server for tests: RFC 5425 (octet-counted RFC 5424 messages over TLS)
on 127.0.0.1, with a certificate of the tests' CA; it keeps what it receives, and can be
stopped and started again on the same port (the server "down for maintenance")."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

from mailroom.app.logging_format import FrameError, FrameReader
from tests.support.certificate_authority import CertificateAuthority
from tests.support.server_process import free_port


class SyslogServer:
    def __init__(
        self, ca: CertificateAuthority, port: int | None = None, *, clients_from_ca: bool = False
    ) -> None:
        """`clients_from_ca`: take only clients with a certificate of `ca` (rsyslog's
        `StreamDriver.AuthMode="x509/certvalid"`)."""
        self.context: ssl.SSLContext = ca.server_context("127.0.0.1")
        if clients_from_ca:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(ca.ca_file)
        self.port = port or free_port()
        self.messages: list[str] = []
        """Every message received, in order, across restarts."""
        self.refusals: list[str] = []
        """Streams that were not octet-counted frames (none, if all is well)."""
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self.context
        )

    async def stop(self) -> None:
        """Stop listening and drop every connection, as a server going down does; return
        once their sockets are closed (the client's end of file is on its way)."""
        assert self._server is not None
        self._server.close()
        serving = list(self._connections.values())
        for writer in list(self._connections):
            writer.transport.abort()
        await asyncio.gather(*serving, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        frames = FrameReader()
        try:
            while data := await reader.read(65536):
                received = frames.feed(data)
                async with self._arrived:
                    self.messages += [m.decode("utf-8", "replace") for m in received]
                    self._arrived.notify_all()
        except FrameError as error:
            self.refusals.append(str(error))
        except (OSError, ssl.SSLError):
            pass  # the client went away, or stop() dropped it
        finally:
            self._connections.pop(writer, None)
            writer.transport.abort()

    async def received(self, wanted: Callable[[list[str]], bool], seconds: float = 60) -> None:
        """Wait until the messages received satisfy `wanted`."""
        try:
            async with asyncio.timeout(seconds), self._arrived:
                await self._arrived.wait_for(lambda: wanted(self.messages))
        except TimeoutError:
            shown = "\n".join(self.messages[-20:])
            raise AssertionError(
                f"not received in {seconds} s; the last messages:\n{shown}"
            ) from None

    async def containing(self, *texts: str) -> list[str]:
        """Wait for a message containing each of `texts`; those messages, in that order."""
        await self.received(lambda messages: all(any(t in m for m in messages) for t in texts))
        return [next(m for m in self.messages if t in m) for t in texts]

    async def close(self) -> None:
        with contextlib.suppress(AssertionError):
            await self.stop()
