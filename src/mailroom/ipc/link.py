"""One end of a link between two processes of a host: frames out, frames in, requests
answered by id.

A link is a connected Unix socket pair made by the main process for each worker (no
path on disk, so nobody else can connect, and nothing stale is left by a crash). When
the other process dies, the link reads end-of-file: a worker takes that as its parent's
death and exits.

Sending never waits: a frame is queued on the transport. If the other end stops reading
and more than `MAX_BUFFERED` bytes wait, one-way frames are dropped (what they carry
must be safe to lose: an IDLE wake-up is caught up by the stat poll) and requests fail
at once, as they do when no answer comes within their timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import Awaitable, Callable

from mailroom.ipc.codec import Decoder, FrameError, Message, encode

log = logging.getLogger("mailroom.ipc")

MAX_BUFFERED = 4 * 1024 * 1024
"""Bytes queued for a peer that does not read before frames are dropped."""
READ_SIZE = 64 * 1024

OneWay = Callable[[Message], None]
"""Handles a frame that needs no answer (runs on the event loop; must not block)."""
Answering = Callable[[Message], Awaitable[Message]]
"""Answers a request; its result goes back with the request's id."""


class LinkClosed(ConnectionError):
    """The link is closed, or too full to take a request."""


class Link:
    """One end of a link; `run()` reads until the other end goes away."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        one_way: dict[str, OneWay] | None = None,
        answering: dict[str, Answering] | None = None,
        name: str = "link",
    ) -> None:
        self.name = name
        self._sock = sock
        self._one_way = dict(one_way or {})
        self._answering = dict(answering or {})
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Message]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dropped = 0
        self._opening = False
        self._closed = False

    def on(self, kind: str, handler: OneWay) -> None:
        self._one_way[kind] = handler

    def answer(self, kind: str, handler: Answering) -> None:
        self._answering[kind] = handler

    async def open(self) -> None:
        """Take the socket onto the event loop; frames can be sent from now on."""
        self._opening = True
        try:
            self._reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        finally:
            self._opening = False
        if self._closed:  # closed while opening: the event loop owns the socket now
            self._writer.close()

    async def run(self) -> None:
        """Read and dispatch frames until end-of-file or a bad frame; then close."""
        if self._reader is None:
            await self.open()
        reader = self._reader
        if reader is None or self._closed:
            self.close()
            return
        decoder = Decoder()
        try:
            while data := await reader.read(READ_SIZE):
                for message in decoder.feed(data):
                    self._dispatch(message)
        except FrameError as error:
            log.error("%s: closed after a bad frame: %s", self.name, error)
        except (ConnectionError, OSError) as error:
            log.debug("%s: %s", self.name, error)
        finally:
            self.close()

    def send(self, message: Message) -> bool:
        """Queue a one-way frame; False if it was dropped (link closed or full)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        if writer.transport.get_write_buffer_size() > MAX_BUFFERED:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning("%s: peer not reading; %d frames dropped", self.name, self._dropped)
            return False
        writer.write(encode(message))
        return True

    async def request(self, kind: str, body: Message) -> Message:
        """Send a request and wait for its answer (bound the wait with asyncio.timeout).
        LinkClosed if it cannot be sent or the link closes first."""
        ident = next(self._ids)
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = answer
        try:
            if not self.send({**body, "k": kind, "id": ident}):
                raise LinkClosed(f"{self.name}: cannot send a {kind} request")
            return await answer
        finally:
            self._waiting.pop(ident, None)

    def close(self) -> None:
        self._closed = True
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(LinkClosed(f"{self.name}: closed"))
        self._waiting.clear()
        for task in self._tasks:
            task.cancel()
        if self._writer is not None:
            self._writer.close()
        elif not self._opening:  # never on the loop (closing it under the loop aborts libuv)
            self._sock.close()

    @property
    def closed(self) -> bool:
        return self._writer is None or self._writer.is_closing()

    def _dispatch(self, message: Message) -> None:
        kind = message["k"]
        ident = message.get("id")
        if kind == "reply":
            answer = self._waiting.get(ident) if isinstance(ident, int) else None
            if answer is not None and not answer.done():
                answer.set_result(message)
            return
        handler = self._one_way.get(str(kind))
        if handler is not None:
            handler(message)
            return
        responder = self._answering.get(str(kind))
        if responder is None or not isinstance(ident, int):
            log.warning("%s: ignored a frame of unknown kind %.40r", self.name, kind)
            return
        task = asyncio.get_running_loop().create_task(self._reply(responder, message, ident))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, responder: Answering, message: Message, ident: int) -> None:
        try:
            answer = await responder(message)
        except ValueError as error:  # a request the handler refuses
            log.warning("%s: refused a %.40s request: %s", self.name, message["k"], error)
            answer = {"error": str(error)[:200]}
        with contextlib.suppress(FrameError):
            self.send({**answer, "k": "reply", "id": ident})
