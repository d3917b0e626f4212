"""Command lines as a client sends them, and what the IMAP parser makes of them: a typed
Command, a request for a literal, or the BAD answer (tag, text, whether fatal)."""

from __future__ import annotations

from mailroom.imap.commands import Command, CommandArguments
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits, Step
from mailroom.imap.sequence import SequenceSet, parse_sequence_set


def play(stream: bytes, parser: CommandParser | None = None) -> list[Step]:
    """Play the session: feed the client's stream line by line, reading the octets of
    each literal the parser asks for. Every step the parser answered, in order."""
    parser = parser or CommandParser()
    steps: list[Step] = []
    position = 0
    while position < len(stream):
        last = steps[-1] if steps else None
        if isinstance(last, NeedLiteral):
            data = stream[position : position + last.size]
            if len(data) < last.size:
                break
            position += last.size
            parser.feed_literal(data)
        end = stream.find(b"\r\n", position)
        end = len(stream) if end < 0 else end
        steps.append(parser.feed_line(stream[position:end]))
        position = end + 2
    return steps


def command(stream: str | bytes, limits: ParserLimits | None = None) -> Command:
    """The one command a client stream (CRLF added to a str) is read as."""
    raw = stream if isinstance(stream, bytes) else stream.encode() + b"\r\n"
    steps = play(raw, CommandParser(limits))
    assert isinstance(steps[-1], Command), steps
    assert all(isinstance(step, NeedLiteral) for step in steps[:-1])
    return steps[-1]


def args(stream: str | bytes) -> CommandArguments:
    return command(stream).args


def refusal(stream: str | bytes, limits: ParserLimits | None = None) -> CommandError:
    raw = stream if isinstance(stream, bytes) else stream.encode() + b"\r\n"
    steps = play(raw, CommandParser(limits))
    assert isinstance(steps[-1], CommandError), steps
    return steps[-1]


def seq(text: str) -> SequenceSet:
    return parse_sequence_set(text)
