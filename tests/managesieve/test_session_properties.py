"""Hostile input to a live ManageSieve session: whatever a client sends, each command
gets exactly one status response (OK or NO, never a traceback or a BYE: the
bad-command limit is lifted here), and the session stays in step (the next NOOP is
answered). The grammar has its own properties (test_reader.py); these go through the
whole server: the connection layer's line reads, literals, the session's states."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.managesieve.conftest import master_user_settings
from tests.support.mail_host import MailHost, start_host
from tests.support.managesieve_talk import (
    MANAGESIEVE_LISTENERS,
    WEBMAIL_SETTINGS,
    SieveTalk,
    plain,
)

UNLIMITED = {
    "# max_failures_per_ip = 10": "max_failures_per_ip = 1000000",
    "# max_failures_per_account = 30": "max_failures_per_account = 1000000",
    # Every answer is checked here; the bad-command limit has its own test.
    'name = "sieve"': 'name = "sieve"\nmax_bad_commands = 1000000',
}
KEYWORDS = [
    "CAPABILITY", "AUTHENTICATE", "HAVESPACE", "PUTSCRIPT", "CHECKSCRIPT", "LISTSCRIPTS",
    "SETACTIVE", "GETSCRIPT", "DELETESCRIPT", "RENAMESCRIPT", "NOOP", "UNAUTHENTICATE",
]  # fmt: skip
_ARGUMENTS = st.one_of(
    st.sampled_from([b'""', b'"main"', b'"a b"', b'"\\"', b'"\xff"', b"(", b")", b"12"]),
    st.sampled_from([b"99999999999", b"-1", b'"PLAIN"', b'"LOGIN"', b"{x}", b"~{3}"]),
    st.text(max_size=12).map(lambda t: b'"' + t.replace('"', "").replace("\\", "").encode() + b'"'),
    st.binary(max_size=20),
)
_LINES = st.one_of(
    st.builds(
        lambda keyword, arguments: b" ".join([keyword.encode(), *arguments]),
        st.sampled_from(KEYWORDS),
        st.lists(_ARGUMENTS, max_size=3),
    ),
    st.binary(max_size=200),
    st.integers(8000, 9000).map(lambda n: b"X" * n),
).map(lambda line: re.sub(rb"[\r\n]", b"", line))
# What a literal announced at the end of a line may hold, and how large it says it is.
_LITERALS = st.one_of(
    st.binary(max_size=50),
    st.just(b'require "fileinto";\r\nfileinto "X";\r\n'),
    st.just(b"if true {\r\n"),
)
STEP = st.tuples(_LINES, st.none() | _LITERALS)


def allowed(line: bytes) -> bool:
    """Lines that would end the session, start TLS or leave the login (and so start a
    SASL exchange on the plain-text listener) on purpose are left out."""
    word = line.split(b" ", 1)[0].upper()
    ending = word in (b"LOGOUT", b"STARTTLS", b"UNAUTHENTICATE")
    return not ending and not line.endswith(b"}")


async def hostile(talk: SieveTalk, steps: list[tuple[bytes, bytes | None]]) -> None:
    for line, literal in steps:
        if not allowed(line):
            continue
        if literal is not None and len(line) < 1000:
            line += b" {%d+}\r\n" % len(literal) + literal
        reply = await talk.command(line)
        assert reply.kind in (b"OK", b"NO"), reply


async def webmail_login(host: MailHost) -> SieveTalk:
    talk = await SieveTalk.open(host.port("sieve-webmail"))
    assert (await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')).ok
    return talk


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    webmail = {
        shipped: changed + "\nmax_bad_commands = 1000000"
        for shipped, changed in WEBMAIL_SETTINGS.items()
    }
    settings = {**webmail, **master_user_settings(), **UNLIMITED}
    async for running in start_host(tmp_path / "host", settings, MANAGESIEVE_LISTENERS):
        yield running


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(before=st.lists(STEP, max_size=25), after=st.lists(STEP, max_size=25))
async def test_hostile_commands_are_each_answered_and_the_session_stays_in_step(
    host: MailHost,
    before: list[tuple[bytes, bytes | None]],
    after: list[tuple[bytes, bytes | None]],
) -> None:
    talk = await SieveTalk.open(host.port("sieve"))
    try:
        await hostile(talk, before)
        assert (await talk.command('NOOP "sync"')).status == b'OK (TAG "sync") "Done"'
    finally:
        await talk.close()
    talk = await webmail_login(host)
    try:
        await hostile(talk, after)
        assert (await talk.command('NOOP "sync"')).status == b'OK (TAG "sync") "Done"'
        assert (await talk.command("LISTSCRIPTS")).ok
    finally:
        await talk.close()
