"""The control channel's grammar: one JSON object on one line each way.

    → {"command": "hold", "queue_ids": ["0J8ZQ3M1QX4TB"]}
    ← {"ok": true, "results": {"0J8ZQ3M1QX4TB": "held"}}
    ← {"ok": false, "error": "unknown command 'explode'"}

`queue_ids` null means every queued message (`mailroom queue delete ALL`).

Hand-written, and this small on purpose: the channel carries five commands between
two parts of one program on one machine, so an RPC library (and its dependency
surface) would buy nothing; JSON is what the queue's envelopes already are. Both
directions are parsed as untrusted input (the socket is 0600, but "no part trusts
another's input"): a line is bounded, every field is checked for type and shape,
queue ids must look like queue ids (so they are safe as file names), and a bad
request is answered with an error, never a traceback. Pure functions: no socket, no
clock, no disk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mailroom.queue.ids import is_queue_id

MAX_LINE = 1024 * 1024
"""Longest request or response line, in bytes (about 60 000 queue ids)."""
MAX_TEXT = 1000
"""Longest result or error text."""


class ControlError(ValueError):
    """A request or response that is not what this protocol allows; says what is wrong."""


class ControlCommand(StrEnum):
    FLUSH = "flush"
    """Try every deferred recipient now (`postqueue -f`)."""
    HOLD = "hold"
    """Keep messages from delivery until released (`postsuper -h`)."""
    RELEASE = "release"
    """Let held messages be delivered again (`postsuper -H`)."""
    DELETE = "delete"
    """Remove messages without telling anyone (`postsuper -d`)."""
    BOUNCE = "bounce"
    """Return messages to their senders with a DSN, then remove them (`postsuper -e`)."""


@dataclass(frozen=True)
class ControlRequest:
    command: ControlCommand
    queue_ids: tuple[str, ...] | None
    """The messages to act on; None: all of them."""

    def __post_init__(self) -> None:
        if self.queue_ids is not None:
            for queue_id in self.queue_ids:
                if not is_queue_id(queue_id):
                    raise ControlError(f"{queue_id[:40]!r} is not a queue id")

    def encode(self) -> bytes:
        document = {
            "command": self.command.value,
            "queue_ids": None if self.queue_ids is None else list(self.queue_ids),
        }
        return _line(document)


@dataclass(frozen=True)
class ControlResponse:
    ok: bool
    results: Mapping[str, str] = field(default_factory=dict)
    """What became of each message (queue id -> "held", "not in the queue", …)."""
    error: str | None = None
    """Why the request as a whole was refused (when not ok)."""

    def encode(self) -> bytes:
        document: dict[str, object] = {"ok": self.ok}
        if self.ok:
            document["results"] = {key: value[:MAX_TEXT] for key, value in self.results.items()}
        else:
            document["error"] = (self.error or "refused")[:MAX_TEXT]
        return _line(document)


def _line(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=True, allow_nan=False).encode() + b"\n"


def _object(line: bytes, what: str) -> dict[str, object]:
    if len(line) > MAX_LINE:
        raise ControlError(f"{what} longer than {MAX_LINE} bytes")
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        raise ControlError(f"{what} is not one JSON object") from None
    if not isinstance(document, dict):
        raise ControlError(f"{what} is not a JSON object")
    return document


def parse_request(line: bytes) -> ControlRequest:
    """The request in `line` (its line end optional); ControlError for anything else."""
    document = _object(line, "the request")
    command_name = document.get("command")
    if not isinstance(command_name, str):
        raise ControlError("command: expected a string")
    try:
        command = ControlCommand(command_name)
    except ValueError:
        raise ControlError(f"unknown command {command_name[:40]!r}") from None
    ids = document.get("queue_ids")
    if ids is None:
        return ControlRequest(command, None)
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise ControlError("queue_ids: expected null or an array of strings")
    return ControlRequest(command, tuple(ids))


def parse_response(line: bytes) -> ControlResponse:
    """The response in `line`; ControlError for anything else."""
    document = _object(line, "the response")
    ok = document.get("ok")
    if not isinstance(ok, bool):
        raise ControlError("ok: expected true or false")
    if not ok:
        error = document.get("error")
        if not isinstance(error, str):
            raise ControlError("error: expected a string")
        return ControlResponse(False, error=error[:MAX_TEXT])
    results = document.get("results")
    if not isinstance(results, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in results.items()
    ):
        raise ControlError("results: expected an object of strings")
    return ControlResponse(True, {key: value[:MAX_TEXT] for key, value in results.items()})
