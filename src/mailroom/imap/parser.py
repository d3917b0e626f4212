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
APPEND messages and CATENATE's TEXT pieces, RFC 4469). A line is first cut into
tokens (words, quoted strings, literals, parenthesized lists) by the lexer IMAP
shares with ManageSieve (`mailroom.wire`); this module reads the tag and the
command name, knows which literal is an APPEND message, and hands the tokens to the
command's own grammar (arguments.py). Every limit is in `ParserLimits`; a literal
over its limit is refused when announced, before an octet is read, and the parser
holds one command at most.

Clients send the same command lines again and again (`NOOP`, `IDLE`, `SELECT INBOX`,
`UID FETCH 1:* (FLAGS)`, a STATUS of each folder): a command that came in one line is
remembered with what it parsed to (every argument is immutable), and the same line
again, under any tag, costs a dictionary lookup (`_LineCache`). Only commands without
secrets or literals are remembered, in a bounded cache per process.
"""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict
from dataclasses import dataclass

from mailroom.imap.arguments import COMMAND_NAMES, UID_COMMANDS, parse_arguments
from mailroom.imap.commands import Command
from mailroom.imap.sequence import parse_sequence_set
from mailroom.imap.tokens import ImapTokenReader, ParserLimits
from mailroom.wire.lexer import (
    Lexer,
    LiteralMarker,
    NeedLiteral,
    literal_octets,
    split_literal_marker,
)
from mailroom.wire.tokens import GrammarError, Literal, Token, Word


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

# RFC 9051 §9 tag = 1*<any ASTRING-CHAR except "+">
_TAG = re.compile(rb'[^\x00-\x20\x7f-\xff(){%*"\\+]+')
_COMMAND_NAME = re.compile(rb"[A-Za-z]+")

CACHED_COMMANDS = frozenset(
    {
        "CAPABILITY", "NOOP", "LOGOUT", "IDLE", "CHECK", "CLOSE", "UNSELECT", "NAMESPACE",
        "SELECT", "EXAMINE", "STATUS", "LIST", "LSUB", "FETCH", "STORE", "SEARCH", "SORT",
        "THREAD", "EXPUNGE", "COPY", "MOVE", "GETQUOTAROOT", "GETQUOTA", "ENABLE",
    }
)  # fmt: skip
"""Commands whose one-line form is remembered: never LOGIN or AUTHENTICATE (no password
is kept), nor APPEND (its message is a literal)."""
LINE_CACHE_SIZE = 4096
"""Command lines remembered per process (each after its tag)."""
LINE_CACHE_LONGEST = 256
"""Longer lines are parsed each time: the cache holds at most ~1 MiB of them."""


class _LineCache:
    """What recent one-line commands (after their tags) parsed to, with one set of
    limits: the least recently used line is forgotten first.

    A line is remembered as it is, except the commands whose first argument is a
    sequence set (FETCH, STORE, COPY, MOVE and their UID forms): those are remembered
    without the set (`_set_template`), which is read anew each time, so that
    `FETCH 3:22 (UID FLAGS)` is known once `FETCH 1:20 (UID FLAGS)` was read."""

    def __init__(self) -> None:
        self.lines: OrderedDict[bytes | tuple[bytes, bytes], tuple[str, bool, object]]
        self.lines = OrderedDict()

    def get(self, rest: bytes, limits: ParserLimits) -> tuple[str, bool, object] | None:
        template = _set_template(rest)
        key = rest if template is None else template[0]
        parsed = self.lines.get(key)
        if parsed is None:
            return None
        self.lines.move_to_end(key)
        if template is None:
            return parsed
        try:
            sequence = parse_sequence_set(
                template[1].decode("ascii"), max_ranges=limits.max_sequence_ranges
            )
        except ValueError:
            return None  # the whole parse says what is wrong
        name, uid, args = parsed
        return name, uid, dataclasses.replace(args, sequence=sequence)  # type: ignore[type-var]

    def put(self, rest: bytes, parsed: tuple[str, bool, object]) -> None:
        template = _set_template(rest)
        self.lines[rest if template is None else template[0]] = parsed
        if len(self.lines) > LINE_CACHE_SIZE:
            self.lines.popitem(last=False)


# The commands whose first argument is a sequence set, and that set (a word, RFC 9051 §9).
_SET_COMMAND = re.compile(rb"((?:UID )?(?:FETCH|STORE|COPY|MOVE) )([0-9:*,$]+) ", re.IGNORECASE)


def _set_template(rest: bytes) -> tuple[tuple[bytes, bytes], bytes] | None:
    """(the line without its sequence set, the set) for the commands that have one."""
    match = _SET_COMMAND.match(rest)
    if match is None:
        return None
    return (match.group(1).upper(), rest[match.end() :]), match.group(2)


_CACHES: dict[ParserLimits, _LineCache] = {}


class CommandParser:
    """Reads commands from lines and literals; one command at a time."""

    def __init__(self, limits: ParserLimits | None = None, *, remember_lines: bool = True) -> None:
        self.limits = limits or ParserLimits()
        self.lexer = Lexer(self.limits)
        self._known = _CACHES.setdefault(self.limits, _LineCache()) if remember_lines else None
        """The lines remembered by every parser with these limits (None: none)."""
        self.reset()

    def remembered_lines(self) -> int:
        """How many command lines are remembered for this parser's limits."""
        return 0 if self._known is None else len(self._known.lines)

    def reset(self) -> None:
        """Forget the command being read (after an error, or to start afresh)."""
        self._tag: str | None = None
        self._name = ""
        self._uid = False
        self.lexer.reset()
        self._messages = 0
        self._catenate: list[Token] | None = None
        """The CATENATE list whose TEXT pieces `_catenate_size` counts."""
        self._catenate_size = 0
        self._pending: NeedLiteral | None = None
        self._error: CommandError | None = None

    # --- Lines and literals ---------------------------------------------------------

    def feed_line(self, line: bytes) -> Step:
        """The next line of the command (without CRLF)."""
        if self._pending is not None:
            raise RuntimeError("feed_line while a literal is expected")
        first_line = self._known is not None and not self.lexer.started and self._error is None
        if first_line:
            known = self._remembered(line)
            if known is not None:
                return known
        body, marker, bad_marker = split_literal_marker(line)
        self.lexer.count_line(line)
        if self._error is not None:
            return self._fail(self._error, marker)
        try:
            if not self.lexer.started:
                body = self._start(body)
            if bad_marker:
                raise GrammarError("Invalid literal size")
            self.lexer.lex(body)
        except GrammarError as error:
            return self._fail(self._refusal(error.text), marker)
        if marker is not None:
            return self._literal(marker)
        if len(self.lexer.stack) > 1:
            return self._fail(self._refusal("Missing ')'"), None)
        step = self._finish()
        if first_line and isinstance(step, Command) and step.name in CACHED_COMMANDS:
            rest = line[len(step.tag) + 1 :]
            if len(rest) <= LINE_CACHE_LONGEST and self._known is not None:
                self._known.put(rest, (step.name, step.uid, step.args))
        return step

    def _remembered(self, line: bytes) -> Command | None:
        """The command of a line seen before (under another tag, perhaps), or None."""
        assert self._known is not None
        space = line.find(b" ")
        if space <= 0 or len(line) - space - 1 > LINE_CACHE_LONGEST:
            return None
        known = self._known.get(line[space + 1 :], self.limits)
        if known is None or not _TAG.fullmatch(line, 0, space):
            return None
        name, uid, args = known
        return Command(line[:space].decode("ascii"), name, uid, args)  # type: ignore[arg-type]

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
            try:
                value = literal_octets(value, pending)
            except GrammarError as error:
                self._error = self._refusal(error.text)
                return
        try:
            self.lexer.add(Literal(value, binary=pending.binary, message=pending.message))
        except GrammarError as error:
            self._error = self._refusal(error.text)

    # --- Reading ---------------------------------------------------------------------

    def _refusal(self, text: str, *, code: str | None = None) -> CommandError:
        return CommandError(self._tag, text, code=code)

    def _fail(self, error: CommandError, marker: LiteralMarker | None) -> Step:
        """Refuse the command, keeping in step with the client: a synchronizing literal
        will not come (the client waits for `+`); a non-synchronizing one will, and is
        read and dropped when small, or ends the connection when not."""
        if marker is None or marker.synchronizing:
            self.reset()
            return error
        if not error.fatal and self.lexer.may_drop(marker):
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
        self.lexer.begin()
        return body[position:]

    def _literal(self, marker: LiteralMarker) -> Step:
        message = self._in_message_position()
        if self.lexer.nonsynchronizing_too_large(marker):
            error = self._refusal("Non-synchronizing literal too large")
            self.reset()
            return CommandError(error.tag, error.text, fatal=True)
        if marker.binary and not message:
            return self._fail(self._refusal("Binary literal not allowed here"), marker)
        if message:
            if self._message_too_large(marker.size):
                return self._fail(self._refusal("Message too large", code="TOOBIG"), marker)
            self._messages += 1
            if self._messages > self.limits.max_items:
                return self._fail(self._refusal("Too many messages"), marker)
        else:
            refused = self.lexer.take_literal(marker)
            if refused is not None:
                return self._fail(self._refusal(refused), marker)
        self._pending = NeedLiteral(marker.size, marker.synchronizing, message, marker.binary)
        return self._pending

    def _in_message_position(self) -> bool:
        """Whether a literal here is an APPEND message: at the top level after the
        mailbox, as the only item of `UTF8 (…)` (RFC 6855 §4), or after TEXT in
        `CATENATE (…)` (RFC 4469 §5: a piece of the message, as large as one may be)."""
        if self._name != "APPEND":
            return False
        stack = self.lexer.stack
        top = stack[0]
        if len(stack) == 1:
            return len(top) >= 1
        if len(stack) != 2 or len(top) < 3:
            return False
        group = stack[1]
        if not group:
            return _is_word(top[-2], "UTF8")
        return _is_word(top[-2], "CATENATE") and _is_word(group[-1], "TEXT")

    def _message_too_large(self, size: int) -> bool:
        """Whether a message literal of `size` octets is over the limit: alone, or with
        the TEXT pieces of the same CATENATE before it (RFC 4469 §5: TOOBIG)."""
        stack = self.lexer.stack
        if len(stack) == 2:
            if self._catenate is not stack[1]:
                self._catenate, self._catenate_size = stack[1], 0
            self._catenate_size += size
            size = self._catenate_size
        return size > self.limits.max_append_literal

    def _finish(self) -> Step:
        tag, name, uid = self._tag or "", self._name, self._uid
        reader = ImapTokenReader(self.lexer.items)
        self.reset()
        try:
            args = parse_arguments(name, reader, self.limits, uid)
        except GrammarError as error:
            return CommandError(tag, error.text)
        return Command(tag, name, uid, args)


def _is_word(token: Token, text: str) -> bool:
    return isinstance(token, Word) and token.text.upper() == text
