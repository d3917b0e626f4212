"""The frames of a link, sans-I/O: one JSON object per line, each naming its kind.

    {"k": "notify", "keys": ["/srv/mail/alice/Maildir"]}
    {"k": "throttle", "id": 7, "op": "check", "ip": "192.0.2.7", "account": "a@b"}
    {"k": "reply", "id": 7, "allowed": true, "retry_after": 0.0, "reason": "allowed"}

The other end is a process of the same host, but its frames are still parsed as
untrusted input ("no part trusts another's input"): a line is bounded, must be a JSON
object with a string `k`, and an `id`, when present, a small non-negative integer.
What the other fields mean is checked by the module that owns the kind.
"""

from __future__ import annotations

import json

MAX_MESSAGE = 64 * 1024
"""Longest frame in bytes, newline included."""
MAX_ID = 2**53
"""Request ids stay below this (exact in every JSON implementation)."""

Message = dict[str, object]


class FrameError(ValueError):
    """A frame that is not what a link carries; says what is wrong."""


def encode(message: Message) -> bytes:
    """One frame. FrameError if it would be longer than MAX_MESSAGE."""
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"
    if len(line) > MAX_MESSAGE:
        raise FrameError(f"a {message.get('k')!s:.20} message of {len(line)} bytes is too long")
    return line


def decode(line: bytes) -> Message:
    """The message of one line (without its newline)."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        raise FrameError("a frame is not JSON") from None
    if not isinstance(message, dict):
        raise FrameError("a frame is not a JSON object")
    kind = message.get("k")
    if not isinstance(kind, str) or not kind:
        raise FrameError("a frame has no kind")
    ident = message.get("id")
    if ident is not None and (
        isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident < MAX_ID
    ):
        raise FrameError("a frame's id is not a small non-negative integer")
    return message


class Decoder:
    """Bytes in, messages out; keeps a partial line between calls."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Message]:
        """The messages completed by `data`. FrameError at the first bad or overlong
        line: the link is then unusable (the stream cannot be resynchronised safely)."""
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) >= MAX_MESSAGE:
            raise FrameError(f"a frame is longer than {MAX_MESSAGE} bytes")
        messages = []
        for line in lines:
            if len(line) >= MAX_MESSAGE:
                raise FrameError(f"a frame is longer than {MAX_MESSAGE} bytes")
            messages.append(decode(line))
        return messages
