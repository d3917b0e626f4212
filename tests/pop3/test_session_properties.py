"""Hostile lines to a live POP3 session: whatever a client sends, each line gets exactly
one answer (+OK or -ERR, with its multi-line body when it has one), the connection stays
open unless the client earned "Too many bad commands", and the maildrop is unchanged.

The grammar has its own properties (test_commands.py); these go through the whole
server: the connection layer's line reading, the session's states and SASL exchanges,
the maildrop. Sequences run before login (AUTHORIZATION) and after it (TRANSACTION) on
the implicit-TLS listener. The client never sends a bare QUIT: a session that ends any
other way must change nothing, and the test ends each session with RSET and QUIT."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.pop3_talk import ALICE, POP3_LISTENERS, deliver, max_bad_commands, message

TOO_MANY_BAD_COMMANDS = b"-ERR Too many bad commands.\r\n"
STATUS_LINE = re.compile(rb"(\+OK|-ERR)( [^\r\n]*)?\r\n")
CHALLENGE_LINE = re.compile(rb"\+ [A-Za-z0-9+/]*={0,2}\r\n")
MAX_STATUS_LINE = 512  # RFC 2449 §4, CRLF included
ANSWER_TIMEOUT = 10.0

# Hostile failed logins by the hundred: the throttle would ban 127.0.0.1 after ten.
UNTHROTTLED = {
    "# max_failures_per_ip = 10": "max_failures_per_ip = 1000000",
    "# max_failures_per_account = 30": "max_failures_per_account = 1000000",
}

MESSAGE_COMMANDS = (b"LIST", b"UIDL", b"RETR", b"TOP", b"DELE")
KEYWORDS = [
    "USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR", "DELE",
    "NOOP", "RSET", "QUIT", "TOP", "UIDL", "CAPA", "STLS",
]  # fmt: skip


# -- the hostile client's lines ----------------------------------------------------------


def _any_case(keyword: str) -> st.SearchStrategy[bytes]:
    letters = [st.sampled_from([c.lower(), c.upper()]) for c in keyword]
    return st.tuples(*letters).map(lambda chosen: "".join(chosen).encode())


def _no_line_end(data: bytes) -> bytes:
    return data.replace(b"\n", b"")


_NUMBERS = st.one_of(
    st.integers(-3, 12),
    st.integers(2**31 - 3, 2**31 + 3),
    st.integers(2**63 - 1, 10**60),
).map(lambda n: str(n).encode())
_BASE64 = st.binary(max_size=80).map(base64.b64encode)
_PLAIN_RESPONSES = st.tuples(st.text(max_size=20), st.text(max_size=20)).map(
    lambda pair: base64.b64encode(f"\0{pair[0]}\0{pair[1]}".encode())
)
_WORDS = st.one_of(
    _NUMBERS,
    st.from_regex(rb"\A0{1,40}[0-9]{1,5}\Z"),  # leading zeros
    st.sampled_from([b"*", b"=", b"-", b"+", b".", ALICE.encode(), b"PLAIN", b"LOGIN"]),
    st.sampled_from([b"CRAM-MD5", b"XOAUTH2", b"GSSAPI", b"plain", b"login"]),
    st.text(min_size=1, max_size=20).map(lambda text: text.encode()),  # non-ASCII
    st.binary(min_size=1, max_size=20).map(_no_line_end),  # NULs, CR, 8-bit
    _BASE64,
    _PLAIN_RESPONSES,
    st.integers(200, 1900).map(lambda n: b"x" * n),  # too long for a command line
).map(lambda word: _no_line_end(word).replace(b" ", b"") or b"-")
_SEPARATORS = st.sampled_from([b" "] * 6 + [b"  ", b"\t", b" \t"])

_COMMAND_LINES = st.builds(
    lambda keyword, words, separators, trailing: (
        keyword
        + b"".join(sep + word for sep, word in zip(separators, words, strict=False))
        + trailing
    ),
    st.sampled_from(KEYWORDS).flatmap(_any_case),
    st.lists(_WORDS, max_size=3),
    st.lists(_SEPARATORS, min_size=3, max_size=3),
    st.sampled_from([b"", b"", b" ", b"   ", b"\r", b"\0"]),
)
_AUTH_LINES = st.builds(
    lambda mechanism, response: b"AUTH " + mechanism + (b" " + response if response else b""),
    st.sampled_from([b"PLAIN", b"LOGIN", b"plain", b"Login", b"XOAUTH2", b"CRAM-MD5"]),
    st.one_of(st.none(), st.just(b"="), _BASE64, _PLAIN_RESPONSES, st.just(b"not base64!")),
)
# Commands a client might well send, so that the hostile ones come between answers of
# every kind: listings, messages, SASL challenges, "no such message".
_PLAUSIBLE_LINES = st.tuples(
    st.one_of(
        st.sampled_from([b"STAT", b"LIST", b"UIDL", b"CAPA", b"NOOP", b"RSET", b"STLS"]),
        st.sampled_from([b"AUTH", b"AUTH PLAIN", b"AUTH LOGIN", b"AUTH PLAIN ="]),
        st.sampled_from([b"USER " + ALICE.encode(), b"PASS wrong"]),
        st.just(b"APOP alice 0123456789abcdef0123456789abcdef"),
        st.tuples(st.sampled_from([b"LIST", b"UIDL", b"RETR", b"DELE"]), st.integers(0, 5)).map(
            lambda pair: b"%s %d" % pair
        ),
        st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 2, 2**31 - 1])).map(
            lambda pair: b"TOP %d %d" % pair
        ),
    ),
    st.booleans(),
).map(lambda pair: pair[0].lower() if pair[1] else pair[0])
LINES = (
    st.one_of(
        _PLAUSIBLE_LINES,
        _PLAUSIBLE_LINES,
        _PLAUSIBLE_LINES,
        _COMMAND_LINES,
        _AUTH_LINES,
        st.binary(max_size=300).map(_no_line_end),
        st.integers(250, 2000).map(lambda n: b"A" * n),
        st.tuples(st.sampled_from(KEYWORDS), st.integers(250, 2000)).map(
            lambda pair: pair[0].encode() + b" " + b"9" * pair[1]
        ),
        st.sampled_from([b"", b"*", b" ", b".", b"\r", b"\0", b"\xff\xfe", b" NOOP", b"NOOP\0"]),
    )
    .map(_no_line_end)
    .filter(
        # A bare QUIT would end the session on purpose, and after DELE change the maildrop.
        lambda line: not (line[:4].upper() == b"QUIT" and line[4:].strip(b" ") == b"")
    )
)
# What the client answers to SASL challenges, in turn; "*" (cancel) once these run out.
SASL_REPLIES = st.lists(
    st.one_of(
        _BASE64,
        _PLAIN_RESPONSES,
        st.binary(max_size=100).map(_no_line_end),
        st.integers(300, 2000).map(lambda n: b"QUFB" * (n // 4)),
        st.just(b"*"),
        st.just(b""),
    ),
    max_size=3,
)
_STEP = st.tuples(LINES, SASL_REPLIES)
# Short sequences, and long ones that may earn "Too many bad commands" (and go on).
STEPS = st.one_of(st.lists(_STEP, max_size=12), st.lists(_STEP, min_size=20, max_size=45))


# -- a client that checks every answer -----------------------------------------------------


def answers_multiline(line: bytes) -> bool:
    """Whether a +OK to `line` is followed by a multi-line body (RFC 1939 §5, §7;
    RFC 2449 §5 CAPA; RFC 5034 §4 AUTH without a mechanism lists them)."""
    keyword = line.partition(b" ")[0].upper()
    words = [word for word in line.split(b" ") if word]
    if keyword in (b"CAPA", b"RETR", b"TOP"):
        return True
    return keyword in (b"LIST", b"UIDL", b"AUTH") and len(words) == 1


@dataclass
class CheckedTalk:
    """One connection to the pop3s listener, and what was said on it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    transcript: list[bytes] = field(default_factory=list)
    errors: int = 0
    """-ERR answers on this connection (each bad command has one)."""

    @classmethod
    async def open(cls, host: MailHost) -> CheckedTalk:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", host.port("pop3s"), ssl=client_tls(), limit=2**20
        )
        talk = cls(reader, writer)
        greeting = await talk.line()
        assert greeting.startswith(b"+OK"), talk.said()
        return talk

    @classmethod
    async def logged_in(cls, host: MailHost) -> CheckedTalk:
        talk = await cls.open(host)
        assert await talk.command(f"USER {ALICE}".encode()) == b"+OK\r\n", talk.said()
        assert await talk.command(f"PASS {PASSWORD}".encode()) == b"+OK Logged in.\r\n"
        return talk

    def said(self) -> str:
        """The conversation so far, for assertion messages."""
        return "\n".join(repr(line) for line in self.transcript[-40:])

    async def line(self) -> bytes:
        try:
            line = await asyncio.wait_for(self.reader.readline(), ANSWER_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_TIMEOUT} s:\n{self.said()}")
        self.transcript.append(b"S: " + line)
        assert line, f"the server closed the connection:\n{self.said()}"
        assert line.endswith(b"\r\n"), self.said()
        return line

    async def send(self, line: bytes) -> None:
        self.transcript.append(b"C: " + line)
        self.writer.write(line + b"\r\n")
        await self.writer.drain()

    async def status(self) -> bytes:
        return self._checked(await self.line())

    def _checked(self, status: bytes) -> bytes:
        assert STATUS_LINE.fullmatch(status), f"not a status line:\n{self.said()}"
        assert len(status) <= MAX_STATUS_LINE, self.said()
        if status.startswith(b"-ERR"):
            self.errors += 1
        return status

    async def command(self, line: bytes, sasl_replies: list[bytes] | None = None) -> bytes:
        """Send `line`; its status line, after reading any body or SASL exchange."""
        await self.send(line)
        replies = list(sasl_replies or [])
        most_challenges = len(replies) + 1  # the last one answered "*" (cancel)
        answer = await self.line()
        while answer.startswith(b"+ "):
            assert CHALLENGE_LINE.fullmatch(answer), f"not a challenge:\n{self.said()}"
            most_challenges -= 1
            assert most_challenges >= 0, f"challenged after a cancel:\n{self.said()}"
            await self.send(replies.pop(0) if replies else b"*")
            answer = await self.line()
        if self._checked(answer).startswith(b"+OK") and answers_multiline(line):
            while (body := await self.line()) != b".\r\n":
                assert not body.startswith(b".") or body.startswith(b".."), self.said()
        return answer

    async def closed_by_server(self) -> None:
        try:
            rest = await asyncio.wait_for(self.reader.read(), ANSWER_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"the server did not close the connection:\n{self.said()}")
        except ConnectionError:
            rest = b""
        assert rest == b"", f"after the last answer: {rest!r}\n{self.said()}"
        self.writer.close()

    def abandon(self) -> None:
        """Close without QUIT."""
        self.writer.close()


def keyword_of(line: bytes) -> bytes:
    return line.partition(b" ")[0].upper()


def may_succeed_before_login(line: bytes) -> bool:
    """CAPA, NOOP, USER, and AUTH asking for the mechanisms: STLS is refused on a TLS
    connection, and PASS or AUTH with a mechanism never guess the password."""
    return keyword_of(line) in (b"CAPA", b"NOOP", b"USER") or line.rstrip(b" ").upper() == b"AUTH"


def named_message(line: bytes) -> int | None:
    """The message number a LIST, UIDL, RETR, TOP or DELE line names, if it is one."""
    words = [word for word in line.split(b" ") if word]
    if len(words) >= 2 and keyword_of(line) in MESSAGE_COMMANDS and words[1].isdigit():
        return int(words[1])
    return None


async def hostile(
    host: MailHost, talk: CheckedTalk, steps: list[tuple[bytes, list[bytes]]], messages: int | None
) -> tuple[CheckedTalk, set[int]]:
    """Send each step's line, checking each answer, before login (`messages` None) or
    after it on a maildrop of `messages` messages. The talk to go on with (a new one if
    the server hung up on too many bad commands) and the messages now marked deleted."""
    marked: set[int] = set()
    for line, sasl_replies in steps:
        answer = await talk.command(line, sasl_replies)
        if answer == TOO_MANY_BAD_COMMANDS:
            assert talk.errors >= max_bad_commands(host), talk.said()
            await talk.closed_by_server()
            again = CheckedTalk.open(host) if messages is None else CheckedTalk.logged_in(host)
            talk = await again
            marked.clear()
            continue
        if not answer.startswith(b"+OK"):
            continue
        if messages is None:
            assert may_succeed_before_login(line), talk.said()
            continue
        number = named_message(line)
        if number is not None:  # RFC 1939 §5: never a message marked as deleted
            assert 1 <= number <= messages and number not in marked, talk.said()
            if keyword_of(line) == b"DELE":
                marked.add(number)
        elif keyword_of(line) == b"RSET":
            marked.clear()
    return talk, marked


async def maildrop_listing(host: MailHost) -> tuple[bytes, list[bytes]]:
    """STAT and UIDL as a fresh session sees them; the session ends with QUIT."""
    talk = await CheckedTalk.logged_in(host)
    stat = await talk.command(b"STAT")
    await talk.send(b"UIDL")
    assert await talk.status() == b"+OK\r\n"
    uidls = []
    while (line := await talk.line()) != b".\r\n":
        uidls.append(line)
    assert await talk.command(b"QUIT") == b"+OK Logging out.\r\n"
    await talk.closed_by_server()
    return stat, uidls


@dataclass
class Stocked:
    host: MailHost
    stat: bytes
    uidls: list[bytes]


@pytest.fixture
async def stocked(tmp_path: Path) -> AsyncIterator[Stocked]:
    """A host whose alice has three messages (one with dot-stuffed lines), and what
    STAT and UIDL say of them."""
    async for host in start_host(tmp_path / "host", UNTHROTTLED, POP3_LISTENERS):
        deliver(host, [message(1), b"Subject: dots\n\n.\n..\n.x\n", message(3, body_lines=50)])
        stat, uidls = await maildrop_listing(host)
        assert stat.startswith(b"+OK 3 ")
        yield Stocked(host, stat, uidls)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(before_login=STEPS, after_login=STEPS)
async def test_hostile_lines_are_each_answered_once_and_change_nothing(
    stocked: Stocked,
    before_login: list[tuple[bytes, list[bytes]]],
    after_login: list[tuple[bytes, list[bytes]]],
) -> None:
    host = stocked.host
    talk, _ = await hostile(host, await CheckedTalk.open(host), before_login, None)
    assert await talk.command(b"NOOP") == b"+OK\r\n", talk.said()
    talk.abandon()

    messages = int(stocked.stat.split()[1])
    talk, marked = await hostile(host, await CheckedTalk.logged_in(host), after_login, messages)
    # Still serving, in step: STAT leaves out what DELE marked, RSET brings it back.
    stat = await talk.command(b"STAT")
    assert stat.startswith(b"+OK %d " % (messages - len(marked))), talk.said()
    assert await talk.command(b"RSET") == b"+OK\r\n", talk.said()
    assert await talk.command(b"STAT") == stocked.stat, talk.said()
    assert await talk.command(b"QUIT") == b"+OK Logging out.\r\n", talk.said()
    await talk.closed_by_server()

    assert await maildrop_listing(host) == (stocked.stat, stocked.uidls)
