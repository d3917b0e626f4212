"""The known attacks on SMTP servers fail safely: STARTTLS command injection, SMTP
smuggling with bare line feeds, over-long lines, floods of errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.mail_host import MailHost, client_tls, start_host
from tests.support.smtp_talk import Talk


async def test_commands_pipelined_after_starttls_are_not_executed(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO attacker.example")
    # CVE-2011-0411: plaintext injected after STARTTLS must not run inside TLS.
    await talk.send(b"STARTTLS\r\nMAIL FROM:<injected@outside.example>\r\n")
    assert (await talk.reply())[0] == 220
    await talk.starttls(client_tls())
    code, _ = await talk.command("RCPT TO:<alice@example.test>")
    assert code == 503  # no MAIL happened: the injected command was dropped
    code, _ = await talk.command("MAIL FROM:<carol@outside.example>")
    assert code == 503  # and the pre-TLS EHLO was forgotten too (RFC 3207 §4.2)


async def test_a_bare_lf_dot_does_not_end_the_message(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO attacker.example")
    await talk.command("MAIL FROM:<carol@outside.example>")
    await talk.command("RCPT TO:<alice@example.test>")
    assert (await talk.command("DATA"))[0] == 354
    smuggled = (
        b"Subject: first\r\n\r\nfirst body\n.\n"
        b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        b"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n"
    )
    await talk.send(smuggled)
    code, text = await talk.reply()
    assert code == 250 and "queued as" in text
    assert await talk.command("QUIT") == (221, "2.0.0 Bye")
    (message,) = await mailhost.delivered("alice@example.test")
    assert b"smuggled body" in message  # all of it is the first message's content
    assert await mailhost.delivered("bob@example.test") == []


async def test_a_dot_after_a_bare_cr_does_not_end_the_message(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO attacker.example")
    await talk.command("MAIL FROM:<carol@outside.example>")
    await talk.command("RCPT TO:<alice@example.test>")
    await talk.command("DATA")
    await talk.send(b"Subject: x\r\n\r\nbody\r.\r\nstill body\r\n.\r\n")
    assert (await talk.reply())[0] == 250
    (message,) = await mailhost.delivered("alice@example.test")
    assert b"still body" in message


async def test_an_over_long_command_line_is_answered_not_fatal(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    await talk.send(b"EHLO " + b"x" * 100_000 + b"\r\n")
    code, text = await talk.reply()
    assert (code, text[:5]) == (500, "5.5.6")
    assert (await talk.command("EHLO client.example"))[0] == 250


async def test_too_many_errors_end_the_session(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    for _ in range(mailhost.config.listeners[0].max_bad_commands - 1):
        assert (await talk.command("BOGUS"))[0] == 500
    code, _ = await talk.command("BOGUS")
    assert code == 421
    assert await talk.closed()


async def test_an_accepted_message_starts_the_error_count_again(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    limit = mailhost.config.listeners[0].max_bad_commands
    for _ in range(limit - 1):
        assert (await talk.command("BOGUS"))[0] == 500
    assert (await talk.command("EHLO client.example"))[0] == 250
    assert (await talk.command("MAIL FROM:<carol@outside.example>"))[0] == 250
    assert (await talk.command("RCPT TO:<alice@example.test>"))[0] == 250
    assert (await talk.command("DATA"))[0] == 354
    assert (await talk.command("Subject: hi\r\n\r\nHello.\r\n."))[0] == 250
    for _ in range(limit - 1):
        assert (await talk.command("BOGUS"))[0] == 500
    assert (await talk.command("NOOP"))[0] == 250
    assert (await talk.command("BOGUS"))[0] == 421


async def test_a_silent_client_is_disconnected_with_421(tmp_path: Path) -> None:
    quick = {'protocol = "smtp"\n': 'protocol = "smtp"\nidle_timeout_seconds = 0.3\n'}
    async for host in start_host(tmp_path / "quick", quick):
        talk = await Talk.open(host.port("smtp"))
        code, text = await asyncio.wait_for(talk.reply(), 10)
        assert (code, text[:5]) == (421, "4.4.2")
        assert await talk.closed()
