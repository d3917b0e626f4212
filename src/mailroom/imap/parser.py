"""The IMAP command reader: lines and literals in, `Command` values out (sans-I/O).

One `CommandParser` per connection. The session feeds it each line it reads
(CRLF stripped) and gets back a `Command`, a `NeedLiteral` (read that many
octets, after a `+` continuation when synchronizing, then `feed_literal` them
and feed the next line), or a `CommandError` to answer with `BAD`:

    step = parser.feed_line(line)
    while isinstance(step, NeedLiteral):
        ...; parser.feed_literal(octets); step = parser.feed_line(next_line)

Hand-written: no maintained Python library parses IMAP on the server side
(imaplib and its kin are clients; see DESIGN.md). The grammar is RFC 9051 §9
with RFC 3501's \\Recent and the extensions of `commands.py`; literals are
`{n}`, `{n+}` (LITERAL+, RFC 7888) and `~{n}` (literal8, RFC 3516; only for
APPEND messages). A line is first cut into tokens (words, quoted strings,
literals, parenthesized lists: tokens.py), then the command's own grammar reads
them. Every limit is in `ParserLimits`; a literal over its limit is refused when
announced, before an octet is read, and the parser holds one command at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.imap.arguments import COMMAND_NAMES, UID_COMMANDS, parse_arguments
from mailroom.imap.commands import Command
from mailroom.imap.tokens import (
    MAX_NUMBER,
    GrammarError,
    Group,
    Literal,
    ParserLimits,
    Quoted,
    Token,
    TokenReader,
    Word,
)


@dataclass(frozen=True)
class NeedLiteral:
    """Read `size` octets and hand them to `feed_literal`; send `+ OK` first when
    `synchronizing`. `message`: an APPEND message (stream it where it goes, and feed
    whatever object stands for it). `binary`: announced as literal8 `~{n}`."""

    size: int
    synchronizing: bool
    message: bool = False
    binary: bool = False


@dataclass(frozen=True)
class CommandError:
    """Answer `<tag or *> BAD <text>`. `fatal`: the stream cannot be resynchronized (a
    non-synchronizing literal the parser refused follows): answer, then close.
    `code` is a response code the session may prefer, e.g. "TOOBIG" (RFC 7889: an APPEND
    message over the limit, answered `NO [TOOBIG]`)."""

    tag: str | None
    text: str
    fatal: bool = False
    code: str | None = None


Step = Command | NeedLiteral | CommandError
__all__ = ["CommandError", "CommandParser", "NeedLiteral", "ParserLimits", "Step"]

# A literal is announced at the end of a line: `{12}`, `{12+}`, `~{12}`.
_LITERAL_MARKER = re.compile(rb"(~?)\{([^{}]*)\}\Z")
_LITERAL_SIZE = re.compile(rb"([0-9]+)(\+?)")
# RFC 9051 §9 tag = 1*<any ASTRING-CHAR except "+">
_TAG = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\+]+')
_COMMAND_NAME = re.compile(rb"[A-Za-z]+")
# Anything but SP, parentheses, quotes, `{` and controls; 8-bit is allowed (and must be UTF-8).
_WORD = re.compile(rb'[^\x00-\x20\x7f(){"]+')
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_ESCAPE = re.compile(rb"\\(.)")


@dataclass(frozen=True)
class _Marker:
    size: int
    synchronizing: bool
    binary: bool


class CommandParser:
    """Reads commands from lines and literals; one command at a time."""

    def __init__(self, limits: ParserLimits | None = None) -> None:
        self.limits = limits or ParserLimits()
        self.reset()

    def reset(self) -> None:
        """Forget the command being read (after an error, or to start afresh)."""
        self._tag: str | None = None
        self._name = ""
        self._uid = False
        self._stack: list[list[Token]] = []
        self._size = 0
        self._tokens = 0
        self._messages = 0
        self._pending: NeedLiteral | None = None
        self._error: CommandError | None = None

    # --- Lines and literals ---------------------------------------------------------

    def feed_line(self, line: bytes) -> Step:
        """The next line of the command (without CRLF)."""
        if self._pending is not None:
            raise RuntimeError("feed_line while a literal is expected")
        body, marker, bad_marker = _split_marker(line)
        if self._error is not None:
            self._size += len(line)
            return self._fail(self._error, marker)
        self._size += len(line)
        try:
            if not self._stack:
                body = self._start(body)
            if bad_marker:
                raise GrammarError("Invalid literal size")
            if self._size > self.limits.max_command:
                raise GrammarError("Command too long")
            self._lex(body)
        except GrammarError as error:
            return self._fail(self._refusal(error.text), marker)
        if marker is not None:
            return self._literal(marker)
        if len(self._stack) > 1:
            return self._fail(self._refusal("Missing ')'"), None)
        return self._finish()

    def feed_literal(self, value: object) -> None:
        """The literal asked for by the last NeedLiteral: bytes, or for a message any
        object (it comes back as AppendMessage.data). Then feed the next line."""
        pending = self._pending
        if pending is None:
            raise RuntimeError("feed_literal without a literal expected")
        self._pending = None
        if self._error is not None:
            return  # swallowed: the command is refused at its end
        if not pending.message:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise TypeError("a literal is bytes")
            value = bytes(value)
            if len(value) != pending.size:
                raise ValueError("literal of the wrong size")
            if not pending.binary and b"\x00" in value:
                # RFC 9051 §4.3: CHAR8 excludes NUL.
                self._error = self._refusal("NUL in literal")
                return
        try:
            self._add(Literal(value, binary=pending.binary, message=pending.message))
        except GrammarError as error:
            self._error = self._refusal(error.text)

    # --- Reading ---------------------------------------------------------------------

    def _refusal(self, text: str, *, code: str | None = None) -> CommandError:
        return CommandError(self._tag, text, code=code)

    def _fail(self, error: CommandError, marker: _Marker | None) -> Step:
        """Refuse the command, keeping in step with the client: a synchronizing literal
        will not come (the client waits for `+`); a non-synchronizing one will, and is
        read and dropped when small, or ends the connection when not."""
        if marker is None or marker.synchronizing:
            self.reset()
            return error
        if (
            marker.size <= self.limits.max_literal
            and self._size + marker.size <= self.limits.max_command
            and not error.fatal
        ):
            self._size += marker.size
            self._error = error
            self._pending = NeedLiteral(marker.size, False, binary=marker.binary)
            return self._pending
        self.reset()
        return CommandError(error.tag, error.text, fatal=True, code=error.code)

    def _start(self, body: bytes) -> bytes:
        """The tag and command name of a command's first line; the rest of the line."""
        tag = _TAG.match(body)
        if not tag or body[tag.end() : tag.end() + 1] not in (b" ", b""):
            raise GrammarError("Invalid tag")
        self._tag = tag.group().decode("ascii")
        position = tag.end()
        names: list[str] = []
        while len(names) < 2:
            while body[position : position + 1] == b" ":
                position += 1
            name = _COMMAND_NAME.match(body, position)
            if not name or body[name.end() : name.end() + 1] not in (b" ", b""):
                raise GrammarError(
                    "Missing command" if position >= len(body) else "Unknown command"
                )
            names.append(name.group().decode("ascii").upper())
            position = name.end()
            if names[0] != "UID":
                break
        if names[0] == "UID":
            self._uid = True
            if names[1] not in UID_COMMANDS:
                raise GrammarError("Unknown command")
        if names[-1] not in COMMAND_NAMES:
            raise GrammarError("Unknown command")
        self._name = names[-1]
        self._stack = [[]]
        return body[position:]

    def _add(self, token: Token) -> None:
        self._tokens += 1
        if self._tokens > self.limits.max_tokens:
            raise GrammarError("Too many arguments")
        self._stack[-1].append(token)

    def _lex(self, body: bytes) -> None:
        """Cut one line (or the part of it after the last literal) into tokens."""
        position, end = 0, len(body)
        while position < end:
            byte = body[position]
            if byte == 0x20:
                position += 1
            elif byte == 0x28:  # (
                if len(self._stack) > self.limits.max_depth:
                    raise GrammarError("Too deep parameter nesting")
                group = Group([])
                self._add(group)
                self._stack.append(group.items)
                position += 1
            elif byte == 0x29:  # )
                if len(self._stack) == 1:
                    raise GrammarError("Unexpected ')'")
                self._stack.pop()
                position += 1
            elif byte == 0x22:  # "
                quoted = _QUOTED.match(body, position)
                if not quoted:
                    raise GrammarError(_quoted_error(body, position))
                self._add(Quoted(_ESCAPE.sub(rb"\1", quoted.group(1))))
                position = quoted.end()
            else:
                word = _WORD.match(body, position)
                if not word:
                    raise GrammarError("Invalid characters in atom")
                try:
                    self._add(Word(word.group().decode("utf-8")))
                except UnicodeDecodeError:
                    raise GrammarError("Invalid UTF-8 in atom") from None
                position = word.end()

    def _literal(self, marker: _Marker) -> Step:
        message = self._in_message_position()
        nonsync_limit = self.limits.max_nonsynchronizing_literal
        if not marker.synchronizing and nonsync_limit is not None and marker.size > nonsync_limit:
            error = self._refusal("Non-synchronizing literal too large")
            self.reset()
            return CommandError(error.tag, error.text, fatal=True)
        if marker.binary and not message:
            return self._fail(self._refusal("Binary literal not allowed here"), marker)
        if message:
            if marker.size > self.limits.max_append_literal:
                return self._fail(self._refusal("Message too large", code="TOOBIG"), marker)
            self._messages += 1
            if self._messages > self.limits.max_items:
                return self._fail(self._refusal("Too many messages"), marker)
        elif marker.size > self.limits.max_literal:
            return self._fail(self._refusal("Literal too large"), marker)
        elif self._size + marker.size > self.limits.max_command:
            return self._fail(self._refusal("Command too long"), marker)
        else:
            self._size += marker.size
        self._pending = NeedLiteral(marker.size, marker.synchronizing, message, marker.binary)
        return self._pending

    def _in_message_position(self) -> bool:
        """Whether a literal here is an APPEND message: at the top level after the
        mailbox, or as the only item of `UTF8 (…)` (RFC 6855 §4)."""
        if self._name != "APPEND":
            return False
        top = self._stack[0]
        if len(self._stack) == 1:
            return len(top) >= 1
        previous = top[-2] if len(top) >= 3 else None
        return (
            len(self._stack) == 2
            and not self._stack[1]
            and isinstance(previous, Word)
            and previous.text.upper() == "UTF8"
        )

    def _finish(self) -> Step:
        tag, name, uid = self._tag or "", self._name, self._uid
        reader = TokenReader(self._stack[0])
        self.reset()
        try:
            args = parse_arguments(name, reader, self.limits, uid)
        except GrammarError as error:
            return CommandError(tag, error.text)
        return Command(tag, name, uid, args)


def _split_marker(line: bytes) -> tuple[bytes, _Marker | None, bool]:
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
    return line[: match.start()], _Marker(octets, not size.group(2), bool(match.group(1))), False


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
