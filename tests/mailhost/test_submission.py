"""Members send mail on 587 (STARTTLS) and 465 (implicit TLS): logins only over TLS,
and only from addresses the account owns or may send as."""

from __future__ import annotations

import asyncio
import base64
import smtplib

import aiosmtplib
import pytest

from tests.support.mail_host import PASSWORD, MailHost, client_tls
from tests.support.smtp_talk import Talk
from tests.support.submission import MESSAGE, submit


async def test_a_member_sends_to_a_local_account(mailhost: MailHost) -> None:
    await submit(mailhost, "alice@example.test", ["bob@example.test"])
    (message,) = await mailhost.delivered("bob@example.test")
    assert b"with ESMTPSA id" in message


async def test_a_member_sends_over_implicit_tls(mailhost: MailHost) -> None:
    await submit(mailhost, "alice@example.test", ["bob@example.test"], port="smtps")
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_a_member_may_send_to_the_internet(mailhost: MailHost) -> None:
    await submit(mailhost, "alice@example.test", ["carol@outside.example"])
    await mailhost.running.dispatcher.settled()
    (received,) = mailhost.internet.mx.received
    assert (received.mail_from, received.rcpt_tos) == (
        "alice@example.test",
        ["carol@outside.example"],
    )
    assert await mailhost.running.services.queue.entries() == []


@pytest.mark.parametrize(
    "sender", ["alice.liddell@example.test", "alice+news@example.test", "pr@example.test"]
)
async def test_a_member_may_send_as_own_addresses_and_granted_aliases(
    mailhost: MailHost, sender: str
) -> None:
    await submit(mailhost, sender, ["bob@example.test"])
    assert len(await mailhost.delivered("bob@example.test")) == 1


@pytest.mark.parametrize(
    "sender", ["bob@example.test", "press@example.test", "ceo@outside.example"]
)
async def test_a_sender_the_login_does_not_own_is_refused_with_553(
    mailhost: MailHost, sender: str
) -> None:
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await submit(mailhost, sender, ["bob@example.test"])
    assert refused.value.code == 553
    assert refused.value.message.startswith("5.7.1 ")


async def test_a_login_through_another_address_sends_as_the_account(mailhost: MailHost) -> None:
    await submit(
        mailhost, "alice@example.test", ["bob@example.test"], login="alice.liddell@example.test"
    )
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_auth_before_tls_is_refused_and_not_offered(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("submission"))
    code, extensions = await talk.command("EHLO client.example")
    assert "AUTH" not in extensions and "STARTTLS" in extensions
    plain = base64.b64encode(f"\0alice@example.test\0{PASSWORD}".encode()).decode()
    code, text = await talk.command(f"AUTH PLAIN {plain}")
    assert (code, text[:6]) == (538, "5.7.11")


async def test_mail_without_login_is_refused_on_submission(mailhost: MailHost) -> None:
    talk = await Talk.open(mailhost.port("submission"))
    await talk.command("EHLO client.example")
    await talk.send(b"STARTTLS\r\n")
    assert (await talk.reply())[0] == 220
    await talk.starttls(client_tls())
    await talk.command("EHLO client.example")
    code, text = await talk.command("MAIL FROM:<alice@example.test>")
    assert (code, text[:5]) == (530, "5.7.0")


async def test_a_wrong_password_is_refused_with_535(mailhost: MailHost) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=mailhost.port("smtps"), use_tls=True, tls_context=client_tls()
    )
    await client.connect()
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await client.login("alice@example.test", "guess")
    assert refused.value.code == 535
    await client.quit()


async def test_auth_login_mechanism_works_with_smtplib(mailhost: MailHost) -> None:
    def send() -> None:
        with smtplib.SMTP_SSL("127.0.0.1", mailhost.port("smtps"), context=client_tls()) as c:
            c.ehlo("client.example")
            c.user, c.password = "alice@example.test", PASSWORD
            code, _ = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
            assert code == 235
            c.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)

    await asyncio.to_thread(send)
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_repeated_failures_ban_the_address_even_with_the_right_password(
    mailhost: MailHost,
) -> None:
    def plain(password: str) -> str:
        return base64.b64encode(f"\0alice@example.test\0{password}".encode()).decode()

    talk = await Talk.open(mailhost.port("smtps"), tls=client_tls())
    await talk.command("EHLO client.example")
    for _ in range(mailhost.config.auth.throttle.max_failures_per_ip):
        assert (await talk.command(f"AUTH PLAIN {plain('guess')}"))[0] == 535
    # Banned: the right password is told to try later (454 4.7.0), not refused (535).
    assert (await talk.command(f"AUTH PLAIN {plain(PASSWORD)}"))[0] == 454
    other = await Talk.open(mailhost.port("smtps"), tls=client_tls())  # banned, not the session
    await other.command("EHLO client.example")
    assert (await other.command(f"AUTH PLAIN {plain(PASSWORD)}"))[0] == 454
