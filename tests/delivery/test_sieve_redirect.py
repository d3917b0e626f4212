"""Redirect, reject and ereject end to end: a redirect leaves through the queue with an SRS
sender and reaches the outside host (a loopback SMTP peer); one that would come back to
the account is kept; a forwarding loop between two members is stopped by Delivered-To;
reject returns a DSN to the sender; ereject is refused in the SMTP transaction."""

from __future__ import annotations

import asyncio
import email
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost
from tests.support.sieve_host import fetch_all, install_script, send, start_sieve_host

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@outside.example"
MESSAGE = (
    f"From: Carol <{CAROL}>\r\nTo: {ALICE}\r\nSubject: the plan\r\n"
    "Message-ID: <plan@outside.example>\r\n\r\nHi there.\r\n"
).encode()


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_sieve_host(tmp_path / "host"):
        yield running


async def deliver(host: MailHost, recipients: list[str] | None = None) -> None:
    await asyncio.to_thread(send, host, CAROL, recipients or [ALICE], MESSAGE)
    await host.running.dispatcher.settled()


async def test_redirect_reaches_the_outside_host_with_an_srs_sender(host: MailHost) -> None:
    install_script(host, ALICE, "forward", 'redirect "dave@outside.example";\n')
    await deliver(host)

    [received] = host.internet.mx.received
    assert received.rcpt_tos == ["dave@outside.example"]
    assert received.mail_from.startswith("SRS0=")
    assert received.mail_from.endswith("=outside.example=carol@mail.example.test")
    assert received.content.startswith(b"Delivered-To: alice@example.test\r\n")
    assert received.content.endswith(
        b"Subject: the plan\r\nMessage-ID: <plan@outside.example>\r\n\r\nHi there.\r\n"
    )
    assert await asyncio.to_thread(fetch_all, host, ALICE) == []


async def test_redirect_copy_also_keeps_the_message(host: MailHost) -> None:
    install_script(
        host, ALICE, "forward", 'require "copy";\nredirect :copy "dave@outside.example";\n'
    )
    await deliver(host)
    assert len(host.internet.mx.received) == 1
    assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 1


async def test_a_redirect_to_the_accounts_own_address_is_kept_instead(host: MailHost) -> None:
    install_script(host, ALICE, "forward", 'redirect "alice.liddell@example.test";\n')
    await deliver(host)
    assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 1
    assert host.running.services.queue is not None
    assert await host.running.services.queue.entries() == []


async def test_a_forwarding_loop_between_members_is_stopped_and_bounced(host: MailHost) -> None:
    install_script(host, ALICE, "forward", f'redirect "{BOB}";\n')
    install_script(host, BOB, "forward", f'redirect "{ALICE}";\n')
    await deliver(host)

    # alice -> bob -> alice: refused there (Delivered-To: alice); the bounce to the
    # redirect's SRS sender goes to the sender it stands for.
    assert await asyncio.to_thread(fetch_all, host, ALICE) == []
    assert await asyncio.to_thread(fetch_all, host, BOB) == []
    [bounce] = host.internet.mx.received
    assert bounce.rcpt_tos == [CAROL] and bounce.mail_from == "<>"
    assert b"Delivered-To loop" in bounce.content


async def test_reject_returns_a_dsn_to_the_sender(host: MailHost) -> None:
    install_script(
        host, ALICE, "no", 'require "reject";\nreject "I do not accept mail from you.";\n'
    )
    await deliver(host)

    assert await asyncio.to_thread(fetch_all, host, ALICE) == []
    [dsn] = host.internet.mx.received
    assert dsn.rcpt_tos == [CAROL] and dsn.mail_from == "<>"
    report = email.message_from_bytes(dsn.content)
    assert report.get_content_type() == "multipart/report"
    assert b"Status: 5.7.1" in dsn.content
    assert b"I do not accept mail from you." in dsn.content


async def test_reject_of_a_bounce_sends_nothing(host: MailHost) -> None:
    install_script(host, ALICE, "no", 'require "reject";\nreject "no";\n')
    await asyncio.to_thread(send, host, "", [ALICE], MESSAGE)
    await host.running.dispatcher.settled()
    assert host.internet.mx.received == []
    assert await asyncio.to_thread(fetch_all, host, ALICE) == []


async def test_ereject_is_refused_in_the_smtp_transaction(host: MailHost) -> None:
    install_script(host, ALICE, "no", 'require "ereject";\nereject "Not here, please.";\n')
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(send, host, CAROL, [ALICE], MESSAGE)
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error == b"5.7.1 Not here, please."
    await host.running.dispatcher.settled()
    assert host.internet.mx.received == []
    assert await host.running.services.queue.entries() == []


async def test_ereject_with_another_recipient_falls_back_to_a_dsn(host: MailHost) -> None:
    install_script(host, ALICE, "no", 'require "ereject";\nereject "Not here, please.";\n')
    await deliver(host, [ALICE, BOB])
    assert len(await asyncio.to_thread(fetch_all, host, BOB)) == 1
    [dsn] = host.internet.mx.received
    assert dsn.rcpt_tos == [CAROL] and b"Not here, please." in dsn.content
