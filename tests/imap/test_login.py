"""Logging in: LOGINDISABLED before TLS, STARTTLS, LOGIN, AUTHENTICATE with SASL-IR,
failures, and commands in the wrong state (RFC 9051 §6.2, RFC 4959)."""

from __future__ import annotations

import base64

from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, MailHost, client_tls


def plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


async def test_before_tls_login_is_disabled_and_starttls_offered(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imap"))
    assert b"LOGINDISABLED" in talk.greeting and b"STARTTLS" in talk.greeting
    assert b"AUTH=PLAIN" not in talk.greeting
    reply = await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')
    assert reply.tagged.startswith(b"a1 NO [PRIVACYREQUIRED]")
    await talk.close()


async def test_starttls_then_login_succeeds(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imap"))
    reply = await talk.command("STARTTLS")
    assert reply.tagged == b"a1 OK Begin TLS negotiation now."
    await talk.starttls()
    reply = await talk.command("CAPABILITY")
    (capabilities,) = reply.lines("CAPABILITY")
    assert "AUTH=PLAIN" in capabilities and "STARTTLS" not in capabilities
    reply = await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')
    assert reply.tagged.startswith(b"a3 OK [CAPABILITY IMAP4rev1")
    assert b"IDLE" in reply.tagged and b"QRESYNC" in reply.tagged
    await talk.close()


async def test_authenticate_plain_with_initial_response(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    reply = await talk.command(f"AUTHENTICATE PLAIN {plain('alice@example.test', PASSWORD)}")
    assert reply.ok, reply.tagged
    reply = await talk.command("SELECT INBOX")
    assert reply.ok
    await talk.close()


async def test_authenticate_plain_with_a_challenge(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    await talk.send(b"a1 AUTHENTICATE PLAIN\r\n")
    assert await talk.read_response() == b"+ "
    await talk.send(plain("bob@example.test", PASSWORD).encode() + b"\r\n")
    reply = await talk.reply("a1")
    assert reply.ok, reply.tagged
    await talk.close()


async def test_a_cancelled_authentication_is_bad(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    await talk.send(b"a1 AUTHENTICATE PLAIN\r\n")
    await talk.read_response()
    await talk.send(b"*\r\n")
    reply = await talk.reply("a1")
    assert reply.tagged == b"a1 BAD Authentication aborted by client."
    await talk.close()


async def test_authenticate_login_asks_for_username_then_password(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    await talk.send(b"a1 AUTHENTICATE LOGIN\r\n")
    assert await talk.read_response() == b"+ " + base64.b64encode(b"Username:")
    await talk.send(base64.b64encode(b"alice@example.test") + b"\r\n")
    assert await talk.read_response() == b"+ " + base64.b64encode(b"Password:")
    await talk.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
    reply = await talk.reply("a1")
    assert reply.ok, reply.tagged
    await talk.close()


async def test_an_unknown_mechanism_is_refused_before_any_challenge(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    reply = await talk.command("AUTHENTICATE CRAM-MD5")
    assert reply.tagged == b"a1 NO Unsupported authentication mechanism."
    assert reply.untagged == []
    await talk.close()


async def test_an_authentication_response_too_long_is_bad(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    await talk.send(b"a1 AUTHENTICATE PLAIN\r\n")
    await talk.read_response()
    await talk.send(b"A" * 10_000 + b"\r\n")
    reply = await talk.reply("a1")
    assert reply.tagged == b"a1 BAD Authentication response too long."
    assert (await talk.command("NOOP")).ok
    await talk.close()


async def test_a_wrong_password_fails_without_saying_why(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    reply = await talk.command('LOGIN alice@example.test "wrong"')
    assert reply.tagged == b"a1 NO [AUTHENTICATIONFAILED] Authentication failed."
    reply = await talk.command('LOGIN nobody@example.test "wrong"')
    assert reply.tagged == b"a2 NO [AUTHENTICATIONFAILED] Authentication failed."
    await talk.close()


async def test_commands_need_the_right_state(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    reply = await talk.command("SELECT INBOX")
    assert reply.tagged == b"a1 BAD Please login first."
    reply = await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')
    assert reply.ok
    reply = await talk.command("FETCH 1 FLAGS")
    assert reply.tagged == b"a3 BAD No mailbox selected."
    reply = await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')
    assert reply.tagged == b"a4 BAD Already logged in."
    await talk.close()


async def test_logout_says_bye_and_closes(alice: ImapTalk) -> None:
    reply = await alice.command("LOGOUT")
    assert reply.untagged == [b"* BYE Logging out"]
    assert reply.ok
    assert await alice.closed()


async def test_id_and_enable_and_namespace(alice: ImapTalk) -> None:
    reply = await alice.command('ID ("name" "test")')
    assert reply.lines("ID") == ['ID ("name" "Mailroom")']
    reply = await alice.command("ENABLE CONDSTORE X-UNKNOWN")
    assert reply.lines("ENABLED") == ["ENABLED CONDSTORE"]
    reply = await alice.command("NAMESPACE")
    assert reply.lines("NAMESPACE") == ['NAMESPACE (("" ".")) NIL NIL']


async def test_unknown_and_malformed_commands_are_bad_and_the_session_goes_on(
    alice: ImapTalk,
) -> None:
    reply = await alice.command("FROBNICATE")
    assert reply.status == "BAD"
    reply = await alice.command('SELECT "INBOX')
    assert reply.status == "BAD"
    await alice.send(b"a9 FETCH 1 (FLAGS\r\n")
    assert (await alice.reply("a9")).status == "BAD"
    await alice.send(b"a10 SELECT {99999999999}\r\n")
    assert (await alice.reply("a10")).status == "BAD"
    reply = await alice.command("NOOP")
    assert reply.ok


async def test_a_command_line_too_long_is_refused(alice: ImapTalk) -> None:
    await alice.send(b"a1 NOOP " + b"x" * 70_000 + b"\r\n")
    assert await alice.read_response() == b"* BAD Command line too long."
    reply = await alice.command("NOOP")
    assert reply.ok


async def test_no_message_is_uploaded_before_login(imap_host: MailHost) -> None:
    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    # Synchronizing: the server never asks for the octets.
    await talk.send(b"a1 APPEND INBOX {5000000}\r\n")
    assert await talk.read_response() == b"a1 BAD Please login first."
    # LITERAL+: the octets are read and thrown away, and the session goes on.
    await talk.send(b"a2 APPEND INBOX {2000000+}\r\n" + b"x" * 2_000_000 + b"\r\n")
    assert await talk.read_response() == b"a2 BAD Please login first."
    reply = await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')
    assert reply.ok
    assert not list((imap_host.maildir("alice@example.test") / "tmp").iterdir())
    await talk.close()
