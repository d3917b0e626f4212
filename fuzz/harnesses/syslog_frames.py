"""Remote syslog's framing and formatting (`mailroom.app.logging_format`): RFC 5425's
octet-counted frames, read (`FrameReader`, what a syslog server does with our stream) and
written around RFC 5424 messages made from any text (`syslog_message`).

The input is read as a stream, cut in two, by a reader that takes frames of up to 1024
octets: contract: messages no longer than that, or `FrameError`. Then the input, decoded
as a log message's text (surrogates kept), is formatted as a text and as a JSON line:
contract: at most `MAX_MESSAGE_BYTES`, valid UTF-8 without a control character (one
line, nothing a terminal would act on), and framed, read back as exactly that message.
A crash: any other exception, or a broken contract.
"""

from __future__ import annotations

import logging
import re

from mailroom.app.logging_format import (
    MAX_MESSAGE_BYTES,
    FrameError,
    FrameReader,
    LineStyle,
    octet_frame,
    syslog_message,
)

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_input(data: bytes) -> None:
    reader = FrameReader(max_message=1024)
    half = len(data) // 2
    try:
        messages = reader.feed(data[:half]) + reader.feed(data[half:])
    except FrameError:
        pass
    else:
        assert all(len(message) <= 1024 for message in messages)
    text = data.decode("utf-8", "surrogateescape")
    record = logging.LogRecord("mailroom.fuzz", logging.INFO, __file__, 1, "%s", (text,), None)
    for json_lines in (False, True):
        message = syslog_message(record, LineStyle("fuzz.example", json=json_lines), 2)
        assert len(message) <= MAX_MESSAGE_BYTES, len(message)
        assert not _CONTROL.search(message.decode("utf-8")), message[:200]
        assert FrameReader(MAX_MESSAGE_BYTES).feed(octet_frame(message)) == [message]
