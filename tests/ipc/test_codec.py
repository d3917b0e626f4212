"""Hostile frames on a link between the host's processes: whatever arrives, in whatever
pieces, the decoder gives messages (objects with a kind) or a FrameError, never another
exception, never a line beyond MAX_MESSAGE kept in memory."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.ipc.codec import MAX_MESSAGE, Decoder, FrameError, Message, encode

FAST = settings(max_examples=200, deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
messages = st.builds(
    lambda kind, ident, body: {**body, "k": kind, **({} if ident is None else {"id": ident})},
    st.text(min_size=1, max_size=20),
    st.none() | st.integers(min_value=0, max_value=2**53 - 1),
    st.dictionaries(st.text(max_size=10).filter(lambda k: k not in {"k", "id"}), json_values),
)


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@FAST
@given(st.lists(messages, max_size=5), st.lists(st.integers(0, 2000), max_size=6))
def test_messages_come_back_as_sent_however_the_bytes_are_cut(
    sent: list[Message], cuts: list[int]
) -> None:
    data = b"".join(encode(message) for message in sent)
    decoder = Decoder()
    received = [message for piece in pieces(data, cuts) for message in decoder.feed(piece)]
    assert received == json.loads(json.dumps(sent))


@FAST
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_any_bytes_give_messages_or_a_frame_error(chunks: list[bytes]) -> None:
    decoder = Decoder()
    try:
        for chunk in chunks:
            for message in decoder.feed(chunk):
                assert isinstance(message["k"], str) and message["k"]
    except FrameError:
        pass


@FAST
@given(json_values)
def test_a_line_that_is_not_an_object_with_a_kind_is_refused(value: object) -> None:
    line = json.dumps(value).encode() + b"\n"
    if isinstance(value, dict) and isinstance(value.get("k"), str) and value["k"]:
        ident = value.get("id")
        if ident is None or (type(ident) is int and 0 <= ident < 2**53):
            assert Decoder().feed(line) == [value]
            return
    with pytest.raises(FrameError):
        Decoder().feed(line)


def test_an_endless_line_is_refused_before_it_fills_memory() -> None:
    decoder = Decoder()
    with pytest.raises(FrameError):
        for _ in range(MAX_MESSAGE // 1000 + 1):
            decoder.feed(b"x" * 1000)


def test_deep_nesting_is_a_frame_error() -> None:
    with pytest.raises(FrameError):
        Decoder().feed(b"[" * 30_000 + b"]" * 30_000 + b"\n")


def test_a_message_too_long_to_send_is_refused() -> None:
    with pytest.raises(FrameError):
        encode({"k": "notify", "keys": ["/" + "x" * MAX_MESSAGE]})
