"""Mail to other domains leaves through their MX hosts (here: a DNS server and an
aiosmtpd server on loopback), DKIM-signed for domains with a key; what they refuse
comes back to the sender as a delivery status notification."""

from __future__ import annotations

import email
from email.message import Message

import dkim

from mailroom.config import DkimConfig
from mailroom.mailauth import DkimAlgorithm, DkimKeys
from tests.mailhost.conftest import MailHost
from tests.mailhost.test_submission import submit


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
    from tests.mailhost.test_smtp_receive import send

    await send(mailhost, "", ["press@example.test"])  # from the null sender
    await mailhost.running.dispatcher.settled()
    assert len(mailhost.internet.mx.received) == 1
    assert len(await mailhost.delivered("alice@example.test")) == 1  # no report anywhere


async def test_forwarded_mail_leaves_with_an_srs_sender(mailhost: MailHost) -> None:
    from tests.mailhost.test_smtp_receive import send

    await send(mailhost, "carol@outside.example", ["press@example.test"])
    await mailhost.running.dispatcher.settled()
    (forwarded,) = mailhost.internet.mx.received
    assert forwarded.rcpt_tos == ["press@outside.example"]
    assert forwarded.mail_from.startswith("SRS0=")
    assert forwarded.mail_from.endswith("=outside.example=carol@mail.example.test")


async def test_a_bounce_to_an_srs_sender_goes_back_to_the_original_sender(
    mailhost: MailHost,
) -> None:
    from tests.mailhost.test_smtp_receive import send

    await send(mailhost, "carol@outside.example", ["press@example.test"])
    await mailhost.running.dispatcher.settled()
    srs_address = mailhost.internet.mx.received[0].mail_from

    await send(mailhost, "", [srs_address])  # the outside host bounces it to us
    await mailhost.running.dispatcher.settled()
    bounce = mailhost.internet.mx.received[1]
    assert (bounce.mail_from, bounce.rcpt_tos) == ("<>", ["carol@outside.example"])


async def test_a_forged_srs_address_is_refused(mailhost: MailHost) -> None:
    from tests.mailhost.talk import Talk

    talk = await Talk.open(mailhost.port("smtp"))
    await talk.command("EHLO attacker.example")
    await talk.command("MAIL FROM:<>")
    code, text = await talk.command(
        "RCPT TO:<SRS0=abcd=AB=victim.example=someone@mail.example.test>"
    )
    assert code == 550
    assert text.startswith("5.1.1")
    await talk.command("QUIT")
