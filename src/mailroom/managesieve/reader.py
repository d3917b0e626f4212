"""The ManageSieve command reader: lines and literals in, `Command` values out (sans-I/O).

One `CommandReader` per connection. The session feeds it each line it reads (CRLF
stripped) and gets back a `Command`, a `NeedLiteral` (read that many octets, hand them
to `feed_literal`, then feed the next line), a `SkipLiteral` (read that many octets and
throw them away, then `literal_skipped()` and the next line) or a `CommandError` to
answer with NO:

    step = reader.feed_line(line)
    while isinstance(step, NeedLiteral | SkipLiteral):
        ...; step = reader.feed_line(next_line)

RFC 5804 §4: a client's literal is `{n+}` and follows at once, without a continuation
(`{n}` is taken the same way: ManageSieve has no continuation request). So every limit
is judged when the literal is announced, before an octet is read: a script literal over
`max_script_size` is refused with QUOTA/MAXSIZE, any other literal over `max_string`;
the refused octets are then read and dropped so the client stays in step — up to
`max_skip` for the whole command, beyond which the connection cannot go on (`fatal`).

The lexer is the one IMAP uses (`mailroom.wire`); this module reads the command name,
knows which argument is a script, and hands the tokens to commands.py. Hand-written:
no maintained Python library parses ManageSieve on the server side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mailroom.managesieve.commands import (
    COMMAND_NAMES,
    SCRIPT_POSITIONS,
    Command,
    parse_arguments,
)
from mailroom.managesieve.responses import QUOTA_MAXSIZE
from mailroom.wire.lexer import (
    Lexer,
    LexerLimits,
    LiteralMarker,
    NeedLiteral,
    literal_octets,
    split_literal_marker,
)
from mailroom.wire.tokens import GrammarError, Group, Literal, Quoted, Word

MAX_LINE = 8 * 1024
"""Longest line a session reads (a quoted string is at most 1024 octets, RFC 5804 §4)."""
MAX_STRING = 16 * 1024
"""Largest literal that is not a script: a script name, a SASL response."""


@dataclass(frozen=True)
class ReaderLimits:
    max_script_size: int = 1024 * 1024
    """`[sieve] max_script_size`: the largest script literal."""
    max_string: int = MAX_STRING
    max_arguments: int = 8
    """Tokens in one command (the longest command has two arguments)."""

    @property
    def max_skip(self) -> int:
        """Octets of refused literals read and dropped for one command; beyond this the
        connection ends (a client that uploads a gigabyte is not waited for)."""
        return 4 * self.max_script_size + 1024 * 1024


@dataclass(frozen=True)
class SkipLiteral:
    """Read `size` octets and throw them away (a refused literal), then call
    `literal_skipped` and feed the next line."""

    size: int


@dataclass(frozen=True)
class CommandError:
    """Answer `NO (code) "text"`. `fatal`: the client's stream cannot be followed any
    more (a literal too large to skip): answer, then BYE and close."""

    text: str
    code: str | None = None
    fatal: bool = False


Step = Command | NeedLiteral | SkipLiteral | CommandError

_COMMAND_NAME = re.compile(rb"[A-Za-z]+")


class CommandReader:
    """Reads one command at a time from lines and literals."""

    def __init__(self, limits: ReaderLimits | None = None) -> None:
        self.limits = limits or ReaderLimits()
        largest = max(self.limits.max_script_size, self.limits.max_string)
        self.lexer = Lexer(
            LexerLimits(
                max_literal=largest,
                max_depth=1,
                max_tokens=self.limits.max_arguments,
                max_command=largest + 2 * self.limits.max_string + 4 * MAX_LINE,
            )
        )
        self.reset()

    def reset(self) -> None:
        """Forget the command being read."""
        self._name = ""
        self.lexer.reset()
        self._pending: NeedLiteral | SkipLiteral | None = None
        self._error: CommandError | None = None
        self._skipped = 0

    @property
    def in_command(self) -> bool:
        """A command has begun and is not finished (its next line is awaited)."""
        return self.lexer.started or self._error is not None

    # -- lines and literals -----------------------------------------------------------

    def feed_line(self, line: bytes) -> Step:
        """The next line of the command, without CRLF."""
        if self._pending is not None:
            raise RuntimeError("feed_line while a literal is expected")
        body, marker, bad_marker = split_literal_marker(line)
        self.lexer.count_line(line)
        if self._error is not None:
            return self._fail(self._error, marker)
        try:
            if not self.lexer.started:
                body = self._start(body)
            if bad_marker:
                raise GrammarError("Invalid literal size.")
            self.lexer.lex(body)
        except GrammarError as error:
            return self._fail(CommandError(_sentence(error.text)), marker)
        if marker is not None:
            return self._literal(marker)
        return self._finish()

    def feed_literal(self, octets: bytes) -> None:
        """The octets asked for by the last NeedLiteral."""
        pending = self._pending
        if not isinstance(pending, NeedLiteral):
            raise RuntimeError("feed_literal without a literal expected")
        self._pending = None
        try:
            self.lexer.add(Literal(literal_octets(octets, pending)))
        except GrammarError as error:
            self._error = CommandError(_sentence(error.text))

    def literal_skipped(self) -> None:
        """The octets asked for by the last SkipLiteral were read and dropped."""
        if not isinstance(self._pending, SkipLiteral):
            raise RuntimeError("literal_skipped without a literal to skip")
        self._pending = None

    # -- reading ----------------------------------------------------------------------

    def _start(self, body: bytes) -> bytes:
        name = _COMMAND_NAME.match(body)
        if not name or body[name.end() : name.end() + 1] not in (b" ", b""):
            raise GrammarError("Missing command." if not body.strip() else "Unknown command.")
        self._name = name.group().decode("ascii").upper()
        if self._name not in COMMAND_NAMES:
            raise GrammarError("Unknown command.")
        self.lexer.begin()
        return body[name.end() :]

    def _literal(self, marker: LiteralMarker) -> Step:
        if marker.binary:
            return self._fail(CommandError("Binary literals are not allowed."), marker)
        script = SCRIPT_POSITIONS.get(self._name) == len(self.lexer.items)
        limits = self.limits
        if script and marker.size > limits.max_script_size:
            text = f"Script is too large (max {limits.max_script_size} octets)."
            return self._fail(CommandError(text, QUOTA_MAXSIZE), marker)
        if not script and marker.size > limits.max_string:
            return self._fail(CommandError("Literal too large."), marker)
        refused = self.lexer.take_literal(marker)
        if refused is not None:
            return self._fail(CommandError(_sentence(refused)), marker)
        self._pending = NeedLiteral(marker.size, synchronizing=False)
        return self._pending

    def _fail(self, error: CommandError, marker: LiteralMarker | None) -> Step:
        """Refuse the command, keeping in step with the client: the literal it announced
        comes anyway, and is read and dropped while that stays within `max_skip`."""
        if marker is None:
            self.reset()
            return error
        if self._skipped + marker.size <= self.limits.max_skip:
            self._skipped += marker.size
            self._error = error
            self._pending = SkipLiteral(marker.size)
            return self._pending
        self.reset()
        return replace(error, fatal=True)

    def _finish(self) -> Step:
        name, items = self._name, self.lexer.items
        self.reset()
        if any(isinstance(token, Group) for token in items):
            return CommandError("Parentheses are not ManageSieve arguments.")
        try:
            return parse_arguments(name, list(items))
        except GrammarError as error:
            return CommandError(_sentence(error.text))


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def sasl_response(line: bytes) -> bytes | NeedLiteral:
    """A client's answer to a SASL challenge (RFC 5804 §2.1: a string; `"*"` cancels):
    its octets, or the literal to read (then an empty line follows). A bare token is
    taken as the octets too, as lenient servers do. GrammarError otherwise."""
    body, marker, bad_marker = split_literal_marker(line)
    if marker is not None and not body and not marker.binary:
        if marker.size > MAX_STRING:
            raise GrammarError("Authentication response too long.")
        return NeedLiteral(marker.size, synchronizing=False)
    if bad_marker or marker is not None:
        raise GrammarError("Invalid authentication response.")
    lexer = Lexer(LexerLimits(max_literal=0, max_depth=0, max_tokens=1))
    lexer.begin()
    try:
        lexer.lex(line)
    except GrammarError:
        raise GrammarError("Invalid authentication response.") from None
    items = lexer.items
    if len(items) != 1:
        raise GrammarError("Invalid authentication response.")
    token = items[0]
    if isinstance(token, Word):
        return token.text.encode("utf-8")
    if isinstance(token, Quoted):
        return token.data
    raise GrammarError("Invalid authentication response.")
