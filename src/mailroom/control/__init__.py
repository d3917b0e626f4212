"""The control channel: how `mailroom queue flush|hold|release|delete|bounce` asks the
running server to change its queue (which only the server may touch while it runs).

protocol.py is the grammar (sans-I/O), server.py the Unix socket the server listens
on, client.py the command's side. What a request *does* is not decided here: the
server is given a handler (`mailroom.delivery.administration`).
"""

from mailroom.control.client import ask_server
from mailroom.control.protocol import (
    ControlCommand,
    ControlError,
    ControlRequest,
    ControlResponse,
)
from mailroom.control.server import CONTROL_SOCKET, ControlServer

__all__ = [
    "CONTROL_SOCKET",
    "ControlCommand",
    "ControlError",
    "ControlRequest",
    "ControlResponse",
    "ControlServer",
    "ask_server",
]
