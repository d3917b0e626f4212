"""The control channel's grammar: what the server accepts, and that nothing a client
sends makes the parser do anything but return a request or raise ControlError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.control import ControlCommand, ControlError, ControlRequest, ControlResponse
from mailroom.control.protocol import MAX_LINE, parse_request, parse_response
from mailroom.queue import new_queue_id

QUEUE_ID = new_queue_id()


def test_a_request_round_trips() -> None:
    request = ControlRequest(ControlCommand.HOLD, (QUEUE_ID,))
    line = request.encode()
    assert line == f'{{"command": "hold", "queue_ids": ["{QUEUE_ID}"]}}\n'.encode()
    assert parse_request(line) == request


def test_null_queue_ids_mean_all_messages() -> None:
    assert parse_request(b'{"command": "flush", "queue_ids": null}') == ControlRequest(
        ControlCommand.FLUSH, None
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"hold X", "the request is not one JSON object"),
        (b"[]", "the request is not a JSON object"),
        (b'{"queue_ids": null}', "command: expected a string"),
        (b'{"command": "explode"}', "unknown command 'explode'"),
        (b'{"command": "hold", "queue_ids": "ALL"}', "queue_ids: expected null or an array"),
        (b'{"command": "hold", "queue_ids": [1]}', "queue_ids: expected null or an array"),
        (b'{"command": "delete", "queue_ids": ["../x"]}', "'../x' is not a queue id"),
        (b"[" * 100_000, "the request is not one JSON object"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(line: bytes, error: str) -> None:
    with pytest.raises(ControlError, match=error.replace("(", r"\(").replace("[", r"\[")):
        parse_request(line)


def test_an_overlong_line_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ControlError, match="longer than"):
        parse_request(b" " * (MAX_LINE + 1))


def test_a_response_round_trips() -> None:
    response = ControlResponse(True, {QUEUE_ID: "held"})
    assert parse_response(response.encode()) == response
    refusal = ControlResponse(False, error="unknown command 'x'")
    assert parse_response(refusal.encode()) == refusal


@given(st.binary(max_size=300))
def test_any_bytes_give_a_request_or_control_error(line: bytes) -> None:
    try:
        request = parse_request(line)
    except ControlError:
        return
    assert isinstance(request.command, ControlCommand)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(["command", "queue_ids", "ok", "results", "error", "x"]),
        json_values | st.sampled_from([c.value for c in ControlCommand]),
        max_size=4,
    )
)
def test_any_json_object_gives_a_request_or_control_error(document: dict[str, object]) -> None:
    line = json.dumps(document).encode()
    try:
        request = parse_request(line)
    except ControlError:
        pass
    else:
        assert request.queue_ids is None or all(len(q) == 13 for q in request.queue_ids)
    with contextlib.suppress(ControlError):
        parse_response(line)


@given(
    st.sampled_from(list(ControlCommand)),
    st.none() | st.lists(st.builds(new_queue_id), max_size=5).map(tuple),
)
def test_every_valid_request_round_trips(
    command: ControlCommand, queue_ids: tuple[str, ...] | None
) -> None:
    request = ControlRequest(command, queue_ids)
    assert parse_request(request.encode()) == request


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=50), max_size=5))
def test_every_response_round_trips(results: dict[str, str]) -> None:
    response = ControlResponse(True, results)
    assert parse_response(response.encode()) == response
