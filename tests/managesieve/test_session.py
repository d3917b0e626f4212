"""ManageSieve sessions over real sockets, line by line (RFC 5804 §2.1-2.4, 2.13-2.14):
the greeting's capabilities, STARTTLS and the capabilities after it, AUTHENTICATE
through the one authenticator (PLAIN, LOGIN, master users), refusals with a reason,
the bad-command limit, UNAUTHENTICATE and LOGOUT."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.sieve import EXTENSIONS
from tests.managesieve.conftest import MASTER_PASSWORD
from tests.support.mail_host import PASSWORD, MailHost, start_host
from tests.support.managesieve_talk import (
    ALICE,
    MANAGESIEVE_LISTENERS,
    SieveTalk,
    capabilities,
    plain,
)
from tests.support.pop3_talk import max_bad_commands


async def test_the_greeting_lists_the_capabilities_and_no_plain_mechanism_before_tls(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    assert talk.greeting.status == b'OK "Mailroom ready."'
    assert capabilities(talk.greeting) == {
        "IMPLEMENTATION": "Mailroom",
        "SASL": "",
        "SIEVE": " ".join(EXTENSIONS),
        "STARTTLS": None,
        "MAXREDIRECTS": "4",
        "UNAUTHENTICATE": None,
        "VERSION": "1.0",
    }
    await talk.close()


async def test_starttls_sends_the_capabilities_again_with_the_mechanisms(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    after = await talk.starttls()
    assert after.status == b'OK "TLS negotiation successful."'
    offered = capabilities(after)
    assert offered["SASL"] == "PLAIN LOGIN"
    assert "STARTTLS" not in offered
    again = await talk.command("STARTTLS")
    assert again.status == b'NO "TLS is already active."'
    await talk.close()


async def test_plain_authentication_before_tls_is_refused_with_encrypt_needed(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    reply = await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')
    assert reply.status == (
        b'NO (ENCRYPT-NEEDED) "Plaintext authentication disallowed on non-secure '
        b'(SSL/TLS) connections."'
    )
    assert (await talk.command("LISTSCRIPTS")).status == b'NO "Authenticate first."'
    await talk.close()


async def test_starttls_then_authenticate_plain_logs_in(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    reply = await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')
    assert reply.status == b'OK "Logged in."'
    listed = await talk.command("LISTSCRIPTS")
    assert listed.status == b'OK "Listscripts completed."' and listed.lines == []
    after = await talk.command("CAPABILITY")
    assert capabilities(after)["OWNER"] == ALICE
    await talk.close()


async def test_a_wrong_password_is_refused_and_the_session_goes_on(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    wrong = await talk.command(f'AUTHENTICATE "PLAIN" "{plain(password="wrong")}"')
    assert wrong.status == b'NO "Authentication failed."'
    assert (await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')).ok
    await talk.close()


async def test_plain_without_initial_response_takes_a_literal_continuation(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    await talk.send(b'AUTHENTICATE "PLAIN"\r\n')
    assert await talk.line() == b'""'  # RFC 5804 §2.1: the empty challenge, a string
    response = plain().encode()
    reply = await talk.command(b"{%d+}\r\n%s" % (len(response), response))
    assert reply.status == b'OK "Logged in."'
    await talk.close()


async def test_login_mechanism_exchanges_quoted_strings(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    await talk.send(b'AUTHENTICATE "LOGIN"\r\n')
    assert await talk.line() == b'"' + base64.b64encode(b"Username:") + b'"'
    await talk.send(b'"' + base64.b64encode(ALICE.encode()) + b'"\r\n')
    assert await talk.line() == b'"' + base64.b64encode(b"Password:") + b'"'
    reply = await talk.command(b'"' + base64.b64encode(PASSWORD.encode()) + b'"')
    assert reply.ok
    await talk.close()


async def test_a_client_may_cancel_authentication(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    await talk.send(b'AUTHENTICATE "LOGIN"\r\n')
    await talk.line()
    reply = await talk.command('"*"')
    assert reply.status == b'NO "Authentication aborted by client."'
    await talk.close()


async def test_an_unknown_mechanism_is_refused(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    reply = await talk.command('AUTHENTICATE "GSSAPI"')
    assert reply.status == b'NO "Unsupported authentication mechanism."'
    await talk.close()


async def test_a_master_user_logs_in_as_a_member_from_its_network(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    master = plain("webmail", MASTER_PASSWORD, authzid=ALICE)
    assert (await talk.command(f'AUTHENTICATE "PLAIN" "{master}"')).ok
    assert capabilities(await talk.command("CAPABILITY"))["OWNER"] == ALICE
    await talk.close()


async def test_noop_returns_its_tag(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    assert (await talk.command('NOOP "STARTTLS-SYNC-42"')).status == (
        b'OK (TAG "STARTTLS-SYNC-42") "Done"'
    )
    assert (await talk.command("NOOP")).ok
    await talk.close()


async def test_bad_input_gets_no_with_a_reason(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    assert (await talk.command("FROBNICATE")).status == b'NO "Unknown command."'
    assert (await talk.command("GETSCRIPT bare")).status == b'NO "Expected a string."'
    assert (await talk.command(b'GETSCRIPT "\xff"')).status == b'NO "Invalid UTF-8 in string."'
    assert (await talk.command(b"X" * 9000)).status == b'NO "Command line too long."'
    assert (await talk.command("CAPABILITY")).ok
    await talk.close()


async def test_too_many_bad_commands_end_the_session(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    for _ in range(max_bad_commands(sieve_host, "sieve") - 1):
        assert (await talk.command("FROBNICATE")).kind == b"NO"
    assert (await talk.command("FROBNICATE")).kind == b"NO"
    assert await talk.line() == b'BYE "Too many invalid commands."'
    assert await talk.closed() == b""


async def test_unauthenticate_returns_to_the_login_state(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.command("UNAUTHENTICATE")).status == b'OK "Unauthenticate completed."'
    assert (await talk.command("LISTSCRIPTS")).status == b'NO "Authenticate first."'
    assert (await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')).ok
    await talk.close()


async def test_logout_says_ok_and_closes(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    assert (await talk.command("LOGOUT")).status == b'OK "Logout completed."'
    assert await talk.closed() == b""


async def test_the_login_throttle_applies(sieve_host: MailHost) -> None:
    # `[auth.throttle] max_failures_per_ip` (10) failures ban the address: then even the
    # right password is refused, as a temporary failure (the client keeps the password).
    talk = await SieveTalk.open(sieve_host.port("sieve"))
    await talk.starttls()
    for _ in range(sieve_host.config.auth.throttle.max_failures_per_ip):
        reply = await talk.command(f'AUTHENTICATE "PLAIN" "{plain(password="guess")}"')
        assert reply.status == b'NO "Authentication failed."'
    banned = await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')
    assert banned.status == b'NO (TRYLATER) "Temporary authentication failure, try again later."'
    await talk.close()


@pytest.fixture
async def impatient_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    settings = {'name = "sieve"': 'name = "sieve"\nidle_timeout_seconds = 0.2'}
    async for host in start_host(tmp_path / "host", settings, listeners=MANAGESIEVE_LISTENERS):
        yield host


async def test_a_silent_client_is_disconnected_after_the_listeners_idle_timeout(
    impatient_host: MailHost,
) -> None:
    talk = await SieveTalk.logged_in(impatient_host)
    assert await talk.line() == b'BYE "Disconnected for inactivity."'
    assert await talk.closed() == b""
