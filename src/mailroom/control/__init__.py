"""The control channel: how `mailroom queue flush|hold|release|delete|bounce` asks the
running server to change its queue (which only the server may touch while it runs).

protocol.py is the grammar (sans-I/O), server.py the Unix socket the server listens
on, client.py the command's side, administration.py what a request does to the queue
(run by the server for requests on the socket, or by the command itself when no server
runs). The server is given that as its handler; DSNs for bounced messages come from
delivery's Bouncer, handed in by `app`.
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
