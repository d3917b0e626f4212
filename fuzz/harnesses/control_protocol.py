"""The control channel's lines (`mailroom.control.protocol.parse_request` and
`parse_response`): one JSON object each way on the local socket.

The input is one line, read as a request and as a response. Contract: a
`ControlRequest` / `ControlResponse`, or `ControlError` (a `ValueError`); what parses
encodes to one line that parses back to what encodes to the same line (an empty error
text is written as "refused", so the value itself may differ). A crash: any other exception
(deep JSON nesting included) or a broken round trip.
"""

from __future__ import annotations

from mailroom.control.protocol import ControlError, parse_request, parse_response


def one_input(data: bytes) -> None:
    try:
        request = parse_request(data)
    except ControlError:
        pass
    else:
        line = request.encode()
        assert line.endswith(b"\n") and line.count(b"\n") == 1, line
        assert parse_request(line).encode() == line
    try:
        response = parse_response(data)
    except ControlError:
        return
    line = response.encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line
    assert parse_response(line).encode() == line
