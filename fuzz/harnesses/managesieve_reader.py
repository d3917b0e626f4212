"""ManageSieve commands (`mailroom.managesieve.reader.CommandReader` and `sasl_response`,
RFC 5804), on the lexer IMAP shares (`mailroom.wire`).

The input is what a client sends: lines ended by CRLF, each literal the reader asks for
(or asks to skip) taken from the stream. Contract: each line gives a `Command`, a
`NeedLiteral` or `SkipLiteral` within the limits, or a `CommandError` whose text is a
sentence on one line; no exception; `sasl_response` of any line is its octets, a
`NeedLiteral`, or `GrammarError`. A crash: any other exception or broken invariant.
"""

from __future__ import annotations

from mailroom.managesieve.commands import Command
from mailroom.managesieve.reader import (
    MAX_STRING,
    CommandError,
    CommandReader,
    ReaderLimits,
    SkipLiteral,
    Step,
    sasl_response,
)
from mailroom.wire.lexer import NeedLiteral
from mailroom.wire.tokens import GrammarError

LIMITS = ReaderLimits(max_script_size=2000, max_string=200)


def _check(step: Step) -> None:
    if isinstance(step, NeedLiteral):
        assert 0 <= step.size <= max(LIMITS.max_script_size, LIMITS.max_string), step
    elif isinstance(step, SkipLiteral):
        assert 0 <= step.size <= LIMITS.max_skip, step
    elif isinstance(step, CommandError):
        assert step.text.endswith(".") and "\r" not in step.text and "\n" not in step.text
    else:
        assert isinstance(step, Command), step


def _sasl(line: bytes) -> None:
    try:
        answer = sasl_response(line)
    except GrammarError:
        return
    if isinstance(answer, NeedLiteral):
        assert 0 <= answer.size <= MAX_STRING, answer
    else:
        assert isinstance(answer, bytes)


def one_input(data: bytes) -> None:
    reader = CommandReader(LIMITS)
    last: Step | None = None
    position = 0
    while position < len(data):
        if isinstance(last, NeedLiteral | SkipLiteral):
            octets = data[position : position + last.size]
            if len(octets) < last.size:
                break
            position += last.size
            if isinstance(last, NeedLiteral):
                reader.feed_literal(octets)
            else:
                reader.literal_skipped()
        end = data.find(b"\r\n", position)
        end = len(data) if end < 0 else end
        line = data[position:end]
        _sasl(line)
        last = reader.feed_line(line)
        _check(last)
        if isinstance(last, CommandError) and last.fatal:
            return
        position = end + 2
