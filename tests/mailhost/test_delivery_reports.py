"""Reports about mail that cannot be delivered, end to end: an expired message, a delay
warning, and the double bounce (a bounce that cannot be delivered goes to the
postmaster; one to the postmaster that fails is dropped, never looped)."""

from __future__ import annotations

import asyncio
import email
import time
from email.message import Message
from pathlib import Path

import aiosmtplib

from tests.support.incoming_mail import send
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.submission import MESSAGE

WAITING = "dave@outside.example"
DEFER = "451 4.3.0 <dave@outside.example>: try later"


def parsed(message: bytes) -> tuple[Message, str]:
    """The report, and the text of its message/delivery-status part."""
    report: Message = email.message_from_bytes(message)
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    return report, status.as_string()


async def submit_with(host: MailHost, recipient: str, rcpt_options: list[str]) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=host.port("submission"), tls_context=client_tls()
    )
    await client.connect()
    try:
        await client.login("alice@example.test", PASSWORD)
        await client.sendmail("alice@example.test", [recipient], MESSAGE, rcpt_options=rcpt_options)
    finally:
        await client.quit()


async def mail_of(host: MailHost, address: str, count: int) -> list[bytes]:
    """Wait (bounded) until `address` has `count` messages: for what a retry brings."""
    deadline = time.monotonic() + 60
    while len(messages := await host.delivered(address)) < count:
        assert time.monotonic() < deadline, f"{address} never had {count} message(s)"
        await asyncio.sleep(0.05)
    return messages


async def test_an_expired_message_is_returned_to_its_sender(tmp_path: Path) -> None:
    lifetime = {"# max_lifetime_seconds = 432000": "max_lifetime_seconds = 2"}
    async for host in start_host(tmp_path / "host", lifetime):
        host.internet.mx.rcpt_replies[WAITING] = DEFER
        await submit_with(host, WAITING, [])
        await host.running.dispatcher.settled()
        (entry,) = await host.running.services.queue.entries()  # deferred, retried at expiry

        (bounce,) = await mail_of(host, "alice@example.test", 1)
        report, status = parsed(bounce)
        assert bounce.startswith(b"Return-Path: <>\n")
        assert report["Subject"] == "Undelivered Mail Returned to Sender"
        assert "Final-Recipient: rfc822; dave@outside.example" in status
        assert "Action: failed" in status
        assert "Status: 4.4.7" in status
        assert "Delivery time expired after" in status
        assert "last error: 451 4.3.0" in status
        await host.running.dispatcher.settled()
        assert await host.running.services.queue.get(entry.queue_id) is None
        assert host.internet.mx.received == []


TINY_DELAY = {"# delay_warning_hours = 4": "delay_warning_hours = 0.000000001"}


async def test_a_delayed_message_is_reported_to_its_sender_once(tmp_path: Path) -> None:
    async for host in start_host(tmp_path / "host", TINY_DELAY):
        host.internet.mx.rcpt_replies[WAITING] = DEFER
        await submit_with(host, WAITING, [])
        await host.running.dispatcher.settled()

        (warning,) = await host.delivered("alice@example.test")
        report, status = parsed(warning)
        assert warning.startswith(b"Return-Path: <>\n")
        assert report["Subject"] == "Delayed Mail (still being retried)"
        assert "Action: delayed" in status
        assert "Status: 4.3.0" in status
        assert "Will-Retry-Until: " in status
        assert "text/rfc822-headers" in warning.decode()  # headers only, as Postfix
        (entry,) = await host.running.services.queue.entries()
        assert entry.envelope.delay_warned

        await host.running.services.queue.reschedule(entry.queue_id)  # a second attempt
        await host.running.dispatcher.settled()
        (still_queued,) = await host.running.services.queue.entries()
        assert still_queued.envelope.recipients[0].attempts == 2
        assert len(await host.delivered("alice@example.test")) == 1


async def test_notify_without_delay_gets_no_warning(tmp_path: Path) -> None:
    async for host in start_host(tmp_path / "host", TINY_DELAY):
        host.internet.mx.rcpt_replies[WAITING] = DEFER
        await submit_with(host, WAITING, ["NOTIFY=FAILURE"])
        await host.running.dispatcher.settled()
        assert len(await host.running.services.queue.entries()) == 1
        assert await host.delivered("alice@example.test") == []


async def test_notify_delay_gets_a_warning(tmp_path: Path) -> None:
    async for host in start_host(tmp_path / "host", TINY_DELAY):
        host.internet.mx.rcpt_replies[WAITING] = DEFER
        await submit_with(host, WAITING, ["NOTIFY=DELAY"])
        await host.running.dispatcher.settled()
        (warning,) = await host.delivered("alice@example.test")
        assert "Action: delayed" in parsed(warning)[1]


async def test_no_warning_by_default_within_four_hours(mailhost: MailHost) -> None:
    mailhost.internet.mx.rcpt_replies[WAITING] = DEFER
    await submit_with(mailhost, WAITING, [])
    await mailhost.running.dispatcher.settled()
    assert len(await mailhost.running.services.queue.entries()) == 1
    assert await mailhost.delivered("alice@example.test") == []


async def postmaster_is(host: MailHost, *targets: str) -> None:
    """postmaster@<hostname> (mail.example.test) delivered to `targets`; gone@example.test
    forwards to an address outside.example refuses."""
    await host.directory.add_domain("mail.example.test")
    await host.directory.add_alias("postmaster@mail.example.test", list(targets))
    await host.directory.add_alias("gone@example.test", ["nobody@outside.example"])
    host.running.services.router.forget_directory()


async def test_an_undeliverable_bounce_goes_to_the_postmaster(mailhost: MailHost) -> None:
    await postmaster_is(mailhost, "alice@example.test")

    await send(mailhost, "", ["gone@example.test"])  # a bounce, for a forwarded address
    await mailhost.running.dispatcher.settled()

    (double_bounce,) = await mailhost.delivered("alice@example.test")
    assert double_bounce.startswith(b"Return-Path: <double-bounce@mail.example.test>\n")
    report, status = parsed(double_bounce)
    assert report["To"] == "<postmaster@mail.example.test>"
    assert "Final-Recipient: rfc822; nobody@outside.example" in status
    assert "Action: failed" in status
    assert await mailhost.running.services.queue.entries() == []


async def test_an_undeliverable_double_bounce_is_dropped(mailhost: MailHost) -> None:
    await postmaster_is(mailhost, "nobody@outside.example")

    await send(mailhost, "", ["gone@example.test"])
    await mailhost.running.dispatcher.settled()

    assert await mailhost.running.services.queue.entries() == []
    assert mailhost.internet.mx.received == []
    assert await mailhost.delivered("alice@example.test") == []
