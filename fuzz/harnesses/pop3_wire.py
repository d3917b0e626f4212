"""POP3 multi-line answers of a stored message (`mailroom.pop3.wire.dot_stuffed` and
`top`, RFC 1939 §3 and §7).

The input is a message as the store serves it (its sender chose every octet). Contract:
the answer ends with CRLF `.` CRLF; no line before that end is a lone `.`, however a
client splits lines (at CRLF or at LF, as poplib does); removing the stuffed dots gives
back the message (TOP: a prefix of it), with CRLF added at the end when missing. A
crash: any exception or broken invariant.
"""

from __future__ import annotations

from mailroom.pop3.wire import dot_stuffed, top

TOP_LINES = (0, 1, 2, 5, 1000)


def _unstuffed(answer: bytes) -> bytes:
    assert answer.endswith(b"\r\n.\r\n") or answer == b".\r\n", answer[-20:]
    body = answer[: -len(b".\r\n")]
    lines = body.split(b"\n")
    for line in lines[:-1]:
        assert line not in (b".", b".\r"), answer[:200]
    return b"\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def one_input(data: bytes) -> None:
    whole = data if data.endswith(b"\r\n") else data + b"\r\n"
    assert _unstuffed(dot_stuffed(data)) == whole
    for lines in TOP_LINES:
        sent = _unstuffed(top(data, lines))
        assert whole.startswith(sent) or sent == whole, (lines, sent[:100])
        assert sent.endswith(b"\r\n"), sent[-20:]
