"""The log line formats and RFC 5425 framing against hostile messages: newlines (a
forged second line), NUL, escape sequences, Unicode line separators, lone surrogates,
megabytes. What leaves is one line of printable text within the size limit, framed so
that a reader gets exactly the messages sent, however the bytes are cut."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.app.logging_format import (
    MAX_MESSAGE_BYTES,
    FrameError,
    FrameReader,
    LineStyle,
    octet_frame,
    one_line,
    syslog_message,
)

HEADER = re.compile(
    rb"<(\d{1,3})>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [\x21-\x7e]{1,255} mailroom "
    rb"[\x21-\x7e]{1,128} [\x21-\x7e]{1,32} - "
)

hostile_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("a\n\r\x00\x1b\x7f\x85\u2028\u2029\ud800 %é€😀"), max_size=50),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["x", "é", "😀", "\n", "\x00"]), st.integers(0, 12_000)
    ),
)


def record(
    message: str, name: str = "mailroom.smtp", level: int = logging.INFO
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, "%s", (message,), None)


def assert_one_printable_line(data: bytes) -> None:
    text = data.decode("utf-8")  # valid UTF-8, surrogates and all
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", text), text[:200]


@settings(max_examples=300, deadline=None)
@given(message=hostile_text, name=st.text(max_size=80), json_lines=st.booleans())
def test_a_syslog_message_is_one_printable_line_within_the_limit(
    message: str, name: str, json_lines: bool
) -> None:
    style = LineStyle("mail.example.test", json=json_lines)
    data = syslog_message(record(message, name or "x"), style, facility=2)
    assert len(data) <= MAX_MESSAGE_BYTES
    assert HEADER.match(data), data[:120]
    assert_one_printable_line(data)
    if json_lines:
        fields = json.loads(data[HEADER.match(data).end() :])  # type: ignore[union-attr]
        kept = fields["message"]
        assert kept == message or kept.endswith(" [truncated]")


@settings(max_examples=300, deadline=None)
@given(message=hostile_text)
def test_a_json_line_keeps_the_message_exactly_when_it_fits(message: str) -> None:
    text = LineStyle("mail.example.test", json=True).json_text(record(message))
    assert_one_printable_line(text.encode("utf-8", "backslashreplace"))
    fields = json.loads(text)
    if len(message.encode("utf-8", "backslashreplace")) < MAX_MESSAGE_BYTES // 8:
        assert fields["message"] == message


def test_a_forged_second_line_stays_in_the_first() -> None:
    data = syslog_message(
        record("user x\n<13>1 2026-01-01T00:00:00Z evil mailroom 1 - - root logged in\x00"),
        LineStyle("mail.example.test"),
        facility=2,
    )
    assert data.endswith(
        b"INFO mailroom.smtp: user x\\n<13>1 2026-01-01T00:00:00Z evil mailroom 1 - - "
        b"root logged in\\x00"
    )
    assert one_line("a\tb\x1b[31m") == "a\\tb\\x1b[31m"


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(hostile_text, max_size=5),
    cuts=st.lists(st.integers(0, 30_000), max_size=10),
)
def test_frames_read_back_as_the_messages_however_the_stream_is_cut(
    messages: list[str], cuts: list[int]
) -> None:
    style = LineStyle("mail.example.test")
    sent = [syslog_message(record(m), style, facility=2) for m in messages]
    stream = b"".join(octet_frame(m) for m in sent)
    reader = FrameReader()
    received: list[bytes] = []
    start = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        received += reader.feed(stream[start:cut])
        start = cut
    assert received == sent
    assert reader.pending == 0


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=200), chunk=st.integers(1, 50))
def test_the_frame_reader_takes_any_bytes_or_refuses_them_cleanly(data: bytes, chunk: int) -> None:
    reader = FrameReader(max_message=100)
    try:
        for start in range(0, len(data), chunk):
            for message in reader.feed(data[start : start + chunk]):
                assert len(message) <= 100
    except FrameError:
        pass
    assert reader.pending <= len(data)


@pytest.mark.parametrize(
    "stream",
    [b"05 hello", b"abc", b" 5 hello", b"1234567890 x", b"101 " + b"x" * 101, b"5hello"],
)
def test_what_is_not_an_octet_count_is_refused(stream: bytes) -> None:
    with pytest.raises(FrameError):
        FrameReader(max_message=100).feed(stream)
