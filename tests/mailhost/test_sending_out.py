"""Mail to other domains leaves through their MX hosts (here: a DNS server and an
aiosmtpd server on loopback), DKIM-signed for domains with a key; what they refuse
comes back to the sender as a delivery status notification."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

import dkim

from mailroom.config import DkimConfig
from mailroom.mailauth import DkimAlgorithm, DkimKeys
from tests.support.mail_host import MailHost, start_host_on, start_internet
from tests.support.submission import submit


def keys_of(host: MailHost) -> DkimKeys:
    settings: DkimConfig = host.config.dkim
    return DkimKeys(host.config.resolve(settings.key_directory), settings.selector)


async def test_mail_from_a_domain_with_a_key_leaves_dkim_signed(mailhost: MailHost) -> None:
    key = keys_of(mailhost).create("example.test", DkimAlgorithm.RSA)
    record = key.dns_txt_record.encode()

    await submit(mailhost, "alice@example.test", ["carol@outside.example"])
    await mailhost.running.dispatcher.settled()

    (received,) = mailhost.internet.mx.received
    assert received.content.startswith(b"DKIM-Signature:")

    def published(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail._domainkey.example.test."
        return record

    assert dkim.verify(
        received.content.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"), dnsfunc=published
    )


async def test_mail_without_a_key_leaves_unsigned(mailhost: MailHost) -> None:
    await submit(mailhost, "alice@example.test", ["carol@outside.example"])
    await mailhost.running.dispatcher.settled()
    (received,) = mailhost.internet.mx.received
    assert b"DKIM-Signature" not in received.content


async def test_a_refused_recipient_is_reported_to_the_sender(mailhost: MailHost) -> None:
    await submit(mailhost, "alice@example.test", ["nobody@outside.example"])
    await mailhost.running.dispatcher.settled()

    (bounce,) = await mailhost.delivered("alice@example.test")
    assert bounce.startswith(b"Return-Path: <>\n")
    report: Message = email.message_from_bytes(bounce)
    assert report.get_content_type() == "multipart/report"
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    status = next(
        part for part in report.walk() if part.get_content_type() == "message/delivery-status"
    )
    text = status.as_string()
    assert "Final-Recipient: rfc822; nobody@outside.example" in text
    assert "Status: 5.1.1" in text
    assert "Action: failed" in text
    assert await mailhost.running.services.queue.entries() == []


async def test_a_bounce_is_never_bounced(mailhost: MailHost) -> None:
    from tests.support.incoming_mail import send

    await send(mailhost, "", ["press@example.test"])  # from the null sender
    await mailhost.running.dispatcher.settled()
    assert len(mailhost.internet.mx.received) == 1
    assert len(await mailhost.delivered("alice@example.test")) == 1  # no report anywhere


async def test_forwarded_mail_leaves_with_an_srs_sender(mailhost: MailHost) -> None:
    from tests.support.incoming_mail import send

    await send(mailhost, "carol@outside.example", ["press@example.test"])
    await mailhost.running.dispatcher.settled()
    (forwarded,) = mailhost.internet.mx.received
    assert forwarded.rcpt_tos == ["press@outside.example"]
    assert forwarded.mail_from.startswith("SRS0=")
    assert forwarded.mail_from.endswith("=outside.example=carol@mail.example.test")


async def test_a_bounce_to_an_srs_sender_goes_back_to_the_original_sender(
    mailhost: MailHost,
) -> None:
    from tests.support.incoming_mail import send

    await send(mailhost, "carol@outside.example", ["press@example.test"])
    await mailhost.running.dispatcher.settled()
    srs_address = mailhost.internet.mx.received[0].mail_from

    await send(mailhost, "", [srs_address])  # the outside host bounces it to us
    await mailhost.running.dispatcher.settled()
    bounce = mailhost.internet.mx.received[1]
    assert (bounce.mail_from, bounce.rcpt_tos) == ("<>", ["carol@outside.example"])


async def test_a_forged_srs_address_is_refused(mailhost: MailHost) -> None:
    from tests.support.smtp_talk import Talk

    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO attacker.example")
    await talk.command("MAIL FROM:<>")
    code, text = await talk.command(
        "RCPT TO:<SRS0=abcd=AB=victim.example=someone@mail.example.test>"
    )
    assert code == 550
    assert text.startswith("5.1.1")
    await talk.command("QUIT")


async def test_a_transport_sends_its_domain_to_its_host(mailhost: MailHost) -> None:
    from tests.support.incoming_mail import send

    port = mailhost.internet.smtp_port
    await mailhost.directory.set_transport("lists.example.test", f"[127.0.0.1]:{port}")
    mailhost.running.services.router.forget_directory()
    await send(mailhost, "carol@outside.example", ["members@lists.example.test"])
    await mailhost.running.dispatcher.settled()
    (received,) = mailhost.internet.mx.received
    # To an internal host of ours: the sender is kept, no SRS.
    assert (received.mail_from, received.rcpt_tos) == (
        "carol@outside.example",
        ["members@lists.example.test"],
    )


async def test_a_relay_host_takes_all_mail_for_other_domains(tmp_path: Path) -> None:
    async for internet in start_internet():
        shipped = '# relayhost = "[emailout.example.org]:25"'
        relay = {shipped: f'relayhost = "[127.0.0.1]:{internet.smtp_port}"'}
        async for host in start_host_on(tmp_path / "relayed", internet, relay):
            # elsewhere.example has no DNS records at all: only the relay host can take it.
            await submit(host, "alice@example.test", ["someone@elsewhere.example"])
            await host.running.dispatcher.settled()
            (received,) = internet.mx.received
            assert received.rcpt_tos == ["someone@elsewhere.example"]
