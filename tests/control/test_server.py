"""The server's end of the control channel on a real Unix socket: one request per
connection, refusals as answers, and a server that goes on after bad clients."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from mailroom.control import (
    ControlCommand,
    ControlError,
    ControlRequest,
    ControlResponse,
    ControlServer,
    ask_server,
)
from mailroom.control.protocol import MAX_LINE
from mailroom.queue import new_queue_id


class Recorder:
    def __init__(self) -> None:
        self.requests: list[ControlRequest] = []

    async def __call__(self, request: ControlRequest) -> Mapping[str, str]:
        self.requests.append(request)
        if request.command is ControlCommand.BOUNCE:
            raise ControlError("bouncing is switched off here")
        if request.command is ControlCommand.DELETE:
            raise RuntimeError("a bug in the handler")
        return {queue_id: request.command.value for queue_id in request.queue_ids or ()}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Path, Recorder]]:
    path = tmp_path / "control.sock"
    recorder = Recorder()
    server = ControlServer(path, recorder)
    assert await server.start()
    yield path, recorder
    await server.close()
    assert not path.exists()


async def raw(path: Path, data: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    return answer


async def test_a_request_is_answered_with_the_handlers_results(
    served: tuple[Path, Recorder],
) -> None:
    path, recorder = served
    queue_id = new_queue_id()
    response = await ask_server(path, ControlRequest(ControlCommand.HOLD, (queue_id,)))
    assert response == ControlResponse(True, {queue_id: "hold"})
    assert recorder.requests == [ControlRequest(ControlCommand.HOLD, (queue_id,))]


async def test_the_socket_is_only_for_its_owner(served: tuple[Path, Recorder]) -> None:
    path, _ = served
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["control.sock"]  # no temporary left


async def test_a_malformed_request_is_answered_with_an_error(
    served: tuple[Path, Recorder],
) -> None:
    path, recorder = served
    assert await raw(path, b"hold everything\n") == (
        b'{"ok": false, "error": "the request is not one JSON object"}\n'
    )
    assert recorder.requests == []


async def test_an_overlong_request_is_refused_and_the_server_goes_on(
    served: tuple[Path, Recorder],
) -> None:
    path, _ = served
    answer = await raw(path, b"x" * (MAX_LINE + 10) + b"\n")
    assert answer == f'{{"ok": false, "error": "request longer than {MAX_LINE} bytes"}}\n'.encode()
    response = await ask_server(path, ControlRequest(ControlCommand.FLUSH, None))
    assert response == ControlResponse(True, {})


async def test_a_refusal_of_the_handler_reaches_the_client(served: tuple[Path, Recorder]) -> None:
    path, _ = served
    response = await ask_server(path, ControlRequest(ControlCommand.BOUNCE, None))
    assert response == ControlResponse(False, error="bouncing is switched off here")


async def test_a_failing_handler_is_an_error_answer_not_a_dead_server(
    served: tuple[Path, Recorder],
) -> None:
    path, _ = served
    response = await ask_server(path, ControlRequest(ControlCommand.DELETE, None))
    assert response == ControlResponse(False, error="the request failed; see the server's log")
    assert await ask_server(path, ControlRequest(ControlCommand.FLUSH, None)) == ControlResponse(
        True, {}
    )


async def test_no_socket_means_no_server(tmp_path: Path) -> None:
    request = ControlRequest(ControlCommand.FLUSH, None)
    assert await ask_server(tmp_path / "control.sock", request) is None


async def test_a_new_server_replaces_a_socket_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    path.write_bytes(b"")  # anything left at the path by a crash
    server = ControlServer(path, Recorder())
    assert await server.start()
    try:
        assert await ask_server(path, ControlRequest(ControlCommand.FLUSH, None)) == (
            ControlResponse(True, {})
        )
    finally:
        await server.close()
