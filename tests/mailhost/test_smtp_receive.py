"""Mail from the internet arrives on port 25: who may send to whom, and where it lands."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from tests.support.incoming_mail import MESSAGE, send
from tests.support.mail_host import MailHost, start_host
from tests.support.smtp_talk import Talk


async def test_mail_to_an_account_is_delivered_to_its_maildir(mailhost: MailHost) -> None:
    await send(mailhost, "carol@outside.example", ["alice@example.test"])
    (message,) = await mailhost.delivered("alice@example.test")
    assert message.startswith(
        b"Return-Path: <carol@outside.example>\nDelivered-To: alice@example.test\nReceived: from "
    )
    assert message.endswith(b"Subject: hello\n\nHi there.\n")  # Maildir keeps LF endings


async def test_an_extra_address_reaches_its_account(mailhost: MailHost) -> None:
    await send(mailhost, "carol@outside.example", ["Alice.Liddell@Example.TEST"])
    assert len(await mailhost.delivered("alice@example.test")) == 1


async def test_a_sub_address_reaches_its_account(mailhost: MailHost) -> None:
    await send(mailhost, "carol@outside.example", ["bob+lists@example.test"])
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_a_sub_address_is_recorded_with_its_account_and_detail(mailhost: MailHost) -> None:
    # The relay recipient keeps the message in the queue (its next hop is unreachable),
    # so the record of alice's delivery at once can be read there.
    recipients = ["alice+lists@example.test", "list@lists.example.test"]
    assert await send(mailhost, "carol@outside.example", recipients) == {}
    assert len(await mailhost.delivered("alice@example.test")) == 1
    (entry,) = await mailhost.running.services.queue.entries()
    alice, relayed = entry.envelope.recipients
    assert (alice.address, alice.original) == ("alice@example.test", "alice+lists@example.test")
    assert (alice.account, alice.detail) == ("alice@example.test", "lists")
    assert alice.state.value == "delivered"
    assert (relayed.account, relayed.detail) == (None, None)


async def test_an_sql_alias_reaches_every_target(mailhost: MailHost) -> None:
    await send(mailhost, "carol@outside.example", ["pr@example.test"])
    assert len(await mailhost.delivered("alice@example.test")) == 1
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_a_recipient_reached_twice_gets_one_copy(mailhost: MailHost) -> None:
    await send(mailhost, "carol@outside.example", ["pr@example.test", "alice@example.test"])
    assert len(await mailhost.delivered("alice@example.test")) == 1


async def test_an_unknown_local_recipient_is_refused_at_rcpt(mailhost: MailHost) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mailhost.port("smtp"), start_tls=False)
    await client.connect()
    await client.ehlo()
    await client.mail("carol@outside.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt("nobody@example.test")
    assert refused.value.code == 550
    assert refused.value.message.startswith("5.1.1 ")
    await client.quit()


@pytest.mark.parametrize(
    "recipient",
    [
        "victim@outside.example",
        "victim%outside.example@example.test",
        "outside.example!victim@example.test",
        "@example.test:victim@outside.example",
        '"victim@outside.example"@example.test',
        "victim@[192.0.2.1]",
    ],
)
async def test_relaying_is_refused_for_every_trick(mailhost: MailHost, recipient: str) -> None:
    def attempt() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", mailhost.port("smtp")) as client:
            client.ehlo("attacker.example")
            client.mail("spam@outside.example")
            return client.docmd(f"RCPT TO:<{recipient}>")

    code, text = await asyncio.to_thread(attempt)
    assert code == 554, text
    assert text.startswith(b"5.7.1 ")


async def test_a_relay_domain_with_a_transport_is_accepted_from_anyone(mailhost: MailHost) -> None:
    errors = await send(mailhost, "carol@outside.example", ["list@lists.example.test"])
    assert errors == {}
    await mailhost.running.dispatcher.settled()
    (entry,) = await mailhost.running.services.queue.entries()
    assert entry.envelope.recipients[0].address == "list@lists.example.test"


async def test_an_alias_forwarding_outside_delivers_locally_and_forwards(
    mailhost: MailHost,
) -> None:
    await send(mailhost, "carol@outside.example", ["press@example.test"])
    assert len(await mailhost.delivered("alice@example.test")) == 1
    (forwarded,) = mailhost.internet.mx.received
    assert forwarded.rcpt_tos == ["press@outside.example"]


@pytest.fixture
async def small_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host that takes messages of at most 64 KiB."""
    async for host in start_host(
        tmp_path / "small", {'# max_message_size = "50M"': 'max_message_size = "64K"'}
    ):
        yield host


async def test_an_oversize_message_is_refused_with_552_after_data(small_host: MailHost) -> None:
    big = MESSAGE + (b"y" * 998 + b"\r\n") * 100

    def attempt() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", small_host.port("smtp")) as client:
            client.ehlo("client.example")
            client.mail("carol@outside.example")  # no SIZE= declared
            client.rcpt("alice@example.test")
            code, text = client.data(big)
            assert client.noop()[0] == 250  # the session goes on
            return code, text

    code, text = await asyncio.to_thread(attempt)
    assert (code, text[:5]) == (552, b"5.3.4")
    assert await small_host.delivered("alice@example.test") == []


async def test_an_oversize_bdat_message_is_refused_with_552(small_host: MailHost) -> None:
    talk = await Talk.open(small_host.port("smtp"))
    await talk.command("EHLO client.example")
    await talk.command("MAIL FROM:<carol@outside.example>")
    await talk.command("RCPT TO:<alice@example.test>")
    await talk.send(b"BDAT 70000 LAST\r\n" + b"x" * 70000)
    code, text = await talk.reply()
    assert (code, text[:5]) == (552, "5.3.4")
    assert await talk.command("NOOP") == (250, "2.0.0 Ok")
    assert await small_host.delivered("alice@example.test") == []


async def test_a_message_in_bdat_chunks_is_delivered(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO client.example")
    await talk.command("MAIL FROM:<carol@outside.example>")
    await talk.command("RCPT TO:<alice@example.test>")
    head, tail = MESSAGE[:20], MESSAGE[20:]
    await talk.send(b"BDAT %d\r\n" % len(head) + head)
    assert (await talk.reply())[0] == 250
    await talk.send(b"BDAT %d LAST\r\n" % len(tail) + tail)
    code, text = await talk.reply()
    assert code == 250 and "queued as" in text
    (message,) = await mailhost.delivered("alice@example.test")
    assert message.endswith(b"Subject: hello\n\nHi there.\n")


async def test_a_declared_size_over_the_limit_is_refused_at_mail(mailhost: MailHost) -> None:
    def attempt() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", mailhost.port("smtp")) as client:
            client.ehlo("client.example")
            return client.docmd(f"MAIL FROM:<a@outside.example> SIZE={10**12}")

    code, _ = await asyncio.to_thread(attempt)
    assert code == 552


async def test_a_message_with_too_many_received_headers_is_refused(mailhost: MailHost) -> None:
    looping = b"Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\r\n" * 60 + MESSAGE
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mailhost.port("smtp"), start_tls=False)
    await client.connect()
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.sendmail("carol@outside.example", ["alice@example.test"], looping)
    assert (refused.value.code, refused.value.message[:5]) == (554, "5.4.6")
    await client.quit()


async def test_the_server_speaks_esmtp_with_the_announced_extensions(mailhost: MailHost) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mailhost.port("smtp"), start_tls=False)
    await client.connect()
    await client.ehlo()
    for extension in (
        "pipelining",
        "size",
        "8bitmime",
        "smtputf8",
        "enhancedstatuscodes",
        "starttls",
        "dsn",
        "chunking",
    ):
        assert client.supports_extension(extension), extension
    assert not client.supports_extension("auth")  # no logins on the MX port
    await client.quit()


async def test_mail_over_quota_is_accepted_and_waits_in_the_queue(mailhost: MailHost) -> None:
    await mailhost.directory.update_account("bob@example.test", quota_bytes=10)
    mailhost.running.services.router.forget_directory()
    await send(mailhost, "carol@outside.example", ["bob@example.test"])
    await mailhost.running.dispatcher.settled()
    assert await mailhost.delivered("bob@example.test") == []
    (entry,) = await mailhost.running.services.queue.entries()
    (recipient,) = entry.envelope.recipients
    assert recipient.state.value == "deferred"
    assert recipient.last_reply.startswith("4.2.2")


async def test_a_stopping_server_ends_an_idle_session_with_421(tmp_path: Path) -> None:
    host_running = start_host(tmp_path / "host")
    host = await anext(host_running)
    talk = await Talk.open(host.port("smtp"))
    assert (await talk.command("EHLO client.example.net"))[0] == 250
    next_reply = asyncio.create_task(talk.reply())
    await host_running.aclose()  # stops the server while the session waits
    code, text = await next_reply
    assert code == 421
    assert text.startswith("4.3.2 mail.example.test ")
    assert await talk.closed()
    talk.close()


async def test_a_message_being_sent_when_the_server_stops_is_finished_first(
    mailhost: MailHost,
) -> None:
    talk = await Talk.open(mailhost.port("smtp"))
    for line in ("EHLO client.example.net", "MAIL FROM:<carol@outside.example>"):
        assert (await talk.command(line))[0] == 250
    assert (await talk.command("RCPT TO:<alice@example.test>"))[0] == 250
    assert (await talk.command("DATA"))[0] == 354
    await talk.send(b"Subject: hello\r\n\r\n")
    (smtp,) = [s for s in mailhost.running.servers if s.listener.name == "smtp"]
    smtp.handler.stopping()  # what the listener does first when the server stops
    code, _ = await talk.command("Hi there.\r\n.")
    assert code == 250
    code, text = await talk.reply()
    assert (code, text[:5]) == (421, "4.3.2")
    assert len(await mailhost.delivered("alice@example.test")) == 1
    talk.close()
