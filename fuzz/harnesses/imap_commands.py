"""IMAP commands (`mailroom.imap.parser.CommandParser`, and through it the shared lexer
`mailroom.wire` and every command's grammar: arguments, search keys, fetch items,
sequence sets, dates, NOTIFY, CATENATE).

The input is what a client sends: lines ended by CRLF, each literal the parser asks
for taken from the stream as a session reads it. Contract: the parser answers each line
with a `Command`, a `NeedLiteral` within its limits, or a `CommandError` (a BAD) whose
text fits on one line; it never raises, holds at most `max_command` octets, and after
whatever came before reads `z NOOP` as itself. A crash: any exception or broken
invariant.
"""

from __future__ import annotations

from mailroom.imap.commands import Command
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits, Step

LIMITS = ParserLimits(max_literal=2000, max_append_literal=5000, max_command=20_000, max_items=100)


def _check(step: Step, parser: CommandParser) -> None:
    if isinstance(step, NeedLiteral):
        maximum = LIMITS.max_append_literal if step.message else LIMITS.max_literal
        assert 0 <= step.size <= maximum, step
    elif isinstance(step, CommandError):
        assert step.text and "\r" not in step.text and "\n" not in step.text, step
        assert step.tag is None or (step.tag and "+" not in step.tag and " " not in step.tag)
    else:
        assert isinstance(step, Command), step
        assert step.name == step.name.upper(), step
    assert parser.lexer.size <= LIMITS.max_command


def one_input(data: bytes) -> None:
    parser = CommandParser(LIMITS)
    last: Step | None = None
    position = 0
    while position < len(data):
        if isinstance(last, NeedLiteral):
            octets = data[position : position + last.size]
            if len(octets) < last.size:
                break
            position += last.size
            parser.feed_literal(octets)
        end = data.find(b"\r\n", position)
        end = len(data) if end < 0 else end
        last = parser.feed_line(data[position:end])
        _check(last, parser)
        if isinstance(last, CommandError) and last.fatal:
            return  # the session closes the connection
        position = end + 2
    if isinstance(last, NeedLiteral):
        parser.feed_literal(b"x" * last.size if not last.message else object())
        parser.feed_line(b"")
    parser.reset()
    assert parser.feed_line(b"z NOOP") == Command("z", "NOOP", False)
