"""The server's end of the control channel: a Unix socket, `<data_dir>/control.sock`.

Only the user Mailroom runs as may connect: the socket is created in a private (0700)
temporary directory, made 0600 there, and only then renamed into place, so there is
no moment at which it is open to others. A socket left behind by a crash is replaced
at the next start (only the process holding the queue's lock starts one). One request
per connection; a request that is malformed, too long or too slow is answered with an
error (or dropped), never allowed to stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from mailroom.control.protocol import (
    MAX_LINE,
    ControlError,
    ControlRequest,
    ControlResponse,
    parse_request,
)

log = logging.getLogger("mailroom.control")

CONTROL_SOCKET = "control.sock"
"""The socket's name in the data directory."""

READ_TIMEOUT = 10.0
"""Seconds a client has to send its request line."""

Handler = Callable[[ControlRequest], Awaitable[Mapping[str, str]]]
"""Does what a request asks; returns what became of each message. May raise
ControlError to refuse the request as a whole."""


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    async def start(self) -> bool:
        """Listen; False (and a warning logged) if the socket cannot be made, in which
        case the server runs without it and `mailroom queue` commands say so."""
        try:
            listening = await asyncio.to_thread(_bind_private, self.path)
        except OSError as error:
            log.warning(
                "no control channel at %s (%s): `mailroom queue flush|hold|release|delete|"
                "bounce` will not reach this server",
                self.path,
                error.strerror or error,
            )
            return False
        self._server = await asyncio.start_unix_server(
            self._session, sock=listening, limit=MAX_LINE + 1
        )
        return True

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(list(self._sessions))
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._server = None

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            response = await self._answer(reader)
            writer.write(response.encode())
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass  # the client went away; nothing to answer
        finally:
            self._sessions.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> ControlResponse:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                line = await reader.readline()
        except (ValueError, asyncio.LimitOverrunError):
            return ControlResponse(False, error=f"request longer than {MAX_LINE} bytes")
        try:
            request = parse_request(line)
            log.info(
                "control: %s %s",
                request.command.value,
                "ALL" if request.queue_ids is None else " ".join(request.queue_ids),
            )
            return ControlResponse(True, await self._handler(request))
        except ControlError as error:
            return ControlResponse(False, error=str(error))
        except Exception:
            # The last resort: the request failed, the server goes on.
            log.exception("control: the request failed")
            return ControlResponse(False, error="the request failed; see the server's log")


def _bind_private(path: Path) -> socket.socket:
    """A listening socket at `path`, never reachable by another user (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=".control-", dir=path.parent))  # mode 0700
    temporary = private / "s"
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listening.bind(str(temporary))
        os.chmod(temporary, 0o600)
        os.rename(temporary, path)  # replaces a socket left behind by a crash
        listening.listen(16)
        listening.setblocking(False)
    except OSError:
        listening.close()
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    finally:
        with contextlib.suppress(OSError):
            private.rmdir()
    return listening
