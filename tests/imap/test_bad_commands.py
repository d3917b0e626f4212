"""The limit on bad commands (the listener's `max_bad_commands`, Dovecot's
CLIENT_MAX_BAD_COMMANDS): BAD answers and failed logins in a row end the session with
`* BYE Too many invalid IMAP commands.`; any command that completes OK starts the count
again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk, login
from tests.support.mail_host import MailHost, client_tls, start_host

BYE = b"* BYE Too many invalid IMAP commands."


def limit_of(host: MailHost, listener: str = "imaps") -> int:
    return next(item for item in host.config.listeners if item.name == listener).max_bad_commands


@pytest.fixture
async def strict_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host whose "imaps" listener allows three bad commands in a row."""
    three = {'name = "imaps"\n': 'name = "imaps"\nmax_bad_commands = 3\n'}
    async for host in start_host(tmp_path / "strict", three, IMAP_LISTENERS):
        yield host


async def test_the_default_limit_is_dovecots_twenty(imap_host: MailHost) -> None:
    assert limit_of(imap_host) == 20


async def test_twenty_garbage_lines_end_the_session_with_bye(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    for number in range(1, limit_of(imap_host) + 1):
        await talk.send(b"garbage %d\r\n" % number)
        assert (await talk.read_response()).startswith(b"garbage BAD ")
    assert await talk.read_response() == BYE
    assert await talk.closed()


async def test_a_good_command_starts_the_count_again(imap_host: MailHost) -> None:
    talk = await login(imap_host)
    for _ in range(limit_of(imap_host) - 1):
        assert (await talk.command("FROBNICATE")).status == "BAD"
    assert (await talk.command("NOOP")).ok
    for _ in range(limit_of(imap_host) - 1):
        assert (await talk.command("FROBNICATE")).status == "BAD"
    assert (await talk.command("NOOP")).ok
    await talk.close()


async def test_a_listener_may_allow_fewer_bad_commands(strict_host: MailHost) -> None:
    talk = await login(strict_host)
    assert (await talk.command("FROBNICATE")).status == "BAD"
    assert (await talk.command('SELECT "INBOX')).status == "BAD"
    reply = await talk.command("FETCH 1 FLAGS")
    assert reply.tagged == b"a4 BAD No mailbox selected."
    assert await talk.read_response() == BYE
    assert await talk.closed()


async def test_failed_logins_count_as_bad_commands(strict_host: MailHost) -> None:
    talk = await ImapTalk.open(strict_host.port("imaps"), tls=client_tls())
    for _ in range(3):
        reply = await talk.command('LOGIN alice@example.test "wrong"')
        assert reply.tagged.endswith(b"NO [AUTHENTICATIONFAILED] Authentication failed.")
    assert await talk.read_response() == BYE
    assert await talk.closed()


async def test_a_no_answer_is_not_a_bad_command(strict_host: MailHost) -> None:
    talk = await login(strict_host)
    for _ in range(5):
        reply = await talk.command("SELECT Nowhere")
        assert reply.status == "NO"
    assert (await talk.command("NOOP")).ok
    await talk.close()


async def test_lines_too_long_count_as_bad_commands(strict_host: MailHost) -> None:
    talk = await login(strict_host)
    for _ in range(3):
        await talk.send(b"a1 NOOP " + b"x" * 70_000 + b"\r\n")
        assert await talk.read_response() == b"* BAD Command line too long."
    assert await talk.read_response() == BYE
    assert await talk.closed()
