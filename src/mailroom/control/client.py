"""The command's end of the control channel: send one request to the running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailroom.control.protocol import (
    MAX_LINE,
    ControlError,
    ControlRequest,
    ControlResponse,
    parse_response,
)

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for the answer: a message being delivered is changed only once its
attempt ends, which may take a remote host's full command timeout."""


async def ask_server(
    path: Path, request: ControlRequest, answer_within: float = DEFAULT_TIMEOUT
) -> ControlResponse | None:
    """The server's answer, or None when no server listens at `path` (no socket, or
    one left behind by a crash). Raises ControlError for an answer that is not one."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_LINE + 1)
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    try:
        writer.write(request.encode())
        await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), answer_within)
        except TimeoutError:
            raise ControlError(f"the server did not answer within {answer_within:.0f} s") from None
        except (ValueError, asyncio.LimitOverrunError):
            raise ControlError(f"the server's answer is longer than {MAX_LINE} bytes") from None
    finally:
        writer.close()
    if not line:
        raise ControlError("the server closed the control channel without answering")
    return parse_response(line)
