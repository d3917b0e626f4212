"""Cuts the lines of one command into tokens (tokens.py), within limits, and frames its
literals: the part of an IMAP-style command reader that IMAP (RFC 9051 §4.3, RFC 7888
LITERAL+/LITERAL-, RFC 3516 literal8) and ManageSieve (RFC 5804 §4) share.

A command reader feeds each line (CRLF stripped) to `split_literal_marker`, which takes
off the literal the line announces at its end (`{12}`, `{12+}`, `~{12}`); it gives the
rest of the line to `Lexer.lex`, judges the announced literal with `Lexer`'s limits
before an octet is read, and returns a `NeedLiteral` to its session, which reads the
octets (after a `+` continuation when synchronizing) and feeds them back:

    step = reader.feed_line(line)
    while isinstance(step, NeedLiteral):
        ...; reader.feed_literal(octets); step = reader.feed_line(next_line)

Hand-written: no maintained Python library parses IMAP-style commands on the server
side (see DESIGN.md). Pure: no sockets, clock or disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.wire.tokens import MAX_NUMBER, GrammarError, Group, Quoted, Token, Word


@dataclass(frozen=True)
class LexerLimits:
    """What one command may hold; every limit is checked before the memory is spent."""

    max_literal: int = 64 * 1024
    """Octets of an ordinary literal (a mailbox name, a password, a search string)."""
    max_depth: int = 32
    """Nested parentheses."""
    max_tokens: int = 10_000
    """Tokens (words, strings, lists) in one command."""
    max_command: int = 1024 * 1024
    """Octets of one command's lines and ordinary literals together."""
    max_nonsynchronizing_literal: int | None = None
    """RFC 7888 §5 LITERAL-: non-synchronizing literals above this (4096) are refused and
    end the connection. None (LITERAL+): only the limits above apply."""


@dataclass(frozen=True)
class NeedLiteral:
    """Read `size` octets and hand them to `feed_literal`; send `+ OK` first when
    `synchronizing`. `message`: a literal the session streams where it goes (an IMAP
    APPEND message), feeding whatever object stands for it. `binary`: announced as
    literal8 `~{n}` (RFC 3516)."""

    size: int
    synchronizing: bool
    message: bool = False
    binary: bool = False


@dataclass(frozen=True)
class LiteralMarker:
    """A literal announced at the end of a line."""

    size: int
    synchronizing: bool
    binary: bool


# A literal is announced at the end of a line: `{12}`, `{12+}`, `~{12}`.
_LITERAL_MARKER = re.compile(rb"(~?)\{([^{}]*)\}\Z")
_LITERAL_SIZE = re.compile(rb"([0-9]+)(\+?)")
# Anything but SP, parentheses, quotes, `{` and controls; 8-bit is allowed (and must be UTF-8).
_WORD = re.compile(rb'[^\x00-\x20\x7f(){"]+')
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_ESCAPE = re.compile(rb"\\(.)")


def split_literal_marker(line: bytes) -> tuple[bytes, LiteralMarker | None, bool]:
    """A line without the literal it announces at its end, the literal, and whether
    something like one (`{x}`, `{-1}`) is there: no literal follows that from a client
    that knows the grammar."""
    match = _LITERAL_MARKER.search(line) if line.endswith(b"}") else None
    if not match:
        return line, None, False
    size = _LITERAL_SIZE.fullmatch(match.group(2))
    if not size:
        return line[: match.start()], None, True
    digits = size.group(1)
    # Never int() a thousand digits: anything past 10 is over every limit anyway.
    octets = int(digits) if len(digits) <= 10 else MAX_NUMBER + 1
    marker = LiteralMarker(octets, not size.group(2), bool(match.group(1)))
    return line[: match.start()], marker, False


class Lexer:
    """The tokens of one command as its lines and literals come, and what they cost."""

    def __init__(self, limits: LexerLimits) -> None:
        self.limits = limits
        self.reset()

    def reset(self) -> None:
        """Forget the command being read."""
        self.stack: list[list[Token]] = []
        """The top-level tokens, then each parenthesized list still open."""
        self.size = 0
        """Octets of the command's lines and ordinary literals so far."""
        self.tokens = 0

    @property
    def started(self) -> bool:
        return bool(self.stack)

    @property
    def items(self) -> list[Token]:
        """The command's top-level tokens."""
        return self.stack[0]

    def begin(self) -> None:
        """A command starts (after the protocol has read its tag and name, if any)."""
        self.stack = [[]]

    def count_line(self, line: bytes) -> None:
        self.size += len(line)

    def add(self, token: Token) -> None:
        self.tokens += 1
        if self.tokens > self.limits.max_tokens:
            raise GrammarError("Too many arguments")
        self.stack[-1].append(token)

    def lex(self, body: bytes) -> None:
        """Cut one line (or the part of it after the last literal) into tokens."""
        if self.size > self.limits.max_command:
            raise GrammarError("Command too long")
        position, end = 0, len(body)
        while position < end:
            byte = body[position]
            if byte == 0x20:
                position += 1
            elif byte == 0x28:  # (
                if len(self.stack) > self.limits.max_depth:
                    raise GrammarError("Too deep parameter nesting")
                group = Group([])
                self.add(group)
                self.stack.append(group.items)
                position += 1
            elif byte == 0x29:  # )
                if len(self.stack) == 1:
                    raise GrammarError("Unexpected ')'")
                self.stack.pop()
                position += 1
            elif byte == 0x22:  # "
                quoted = _QUOTED.match(body, position)
                if not quoted:
                    raise GrammarError(_quoted_error(body, position))
                self.add(Quoted(_ESCAPE.sub(rb"\1", quoted.group(1))))
                position = quoted.end()
            else:
                word = _WORD.match(body, position)
                if not word:
                    raise GrammarError("Invalid characters in atom")
                try:
                    self.add(Word(word.group().decode("utf-8")))
                except UnicodeDecodeError:
                    raise GrammarError("Invalid UTF-8 in atom") from None
                position = word.end()

    def nonsynchronizing_too_large(self, marker: LiteralMarker) -> bool:
        """RFC 7888 §5 (LITERAL-): refused, and the connection cannot go on."""
        limit = self.limits.max_nonsynchronizing_literal
        return not marker.synchronizing and limit is not None and marker.size > limit

    def take_literal(self, marker: LiteralMarker) -> str | None:
        """Count an ordinary literal announced; or why it is refused."""
        if marker.size > self.limits.max_literal:
            return "Literal too large"
        if self.size + marker.size > self.limits.max_command:
            return "Command too long"
        self.size += marker.size
        return None

    def may_drop(self, marker: LiteralMarker) -> bool:
        """After a refusal: whether a non-synchronizing literal announced can be read and
        thrown away (counted, so dropping is bounded too), keeping in step with the
        client; if not, the connection cannot go on."""
        if (
            marker.size <= self.limits.max_literal
            and self.size + marker.size <= self.limits.max_command
        ):
            self.size += marker.size
            return True
        return False


def literal_octets(value: object, pending: NeedLiteral) -> bytes:
    """The octets of an ordinary literal handed to `feed_literal`: bytes of the size
    announced (else the session is wrong: TypeError, ValueError); GrammarError for a
    NUL outside literal8 (RFC 9051 §4.3: CHAR8 excludes NUL)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("a literal is bytes")
    octets = bytes(value)
    if len(octets) != pending.size:
        raise ValueError("literal of the wrong size")
    if not pending.binary and b"\x00" in octets:
        raise GrammarError("NUL in literal")
    return octets


def _quoted_error(body: bytes, start: int) -> str:
    position = start + 1
    while position < len(body):
        byte = body[position]
        if byte == 0x5C:  # backslash
            if body[position + 1 : position + 2] not in (b'"', b"\\"):
                return "Invalid escape in quoted string"
            position += 2
            continue
        if byte in (0, 0x0D, 0x0A):
            return "Invalid characters in quoted string"
        position += 1
    return "Missing '\"'"
