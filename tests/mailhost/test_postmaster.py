"""RFC 5321 §4.5.1: `RCPT TO:<postmaster@DOMAIN>` for every local domain and the bare
`<postmaster>` are accepted (port 25 and submission) and delivered to the postmaster;
`postmaster@` someone else's domain is still refused (no open relay)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.mailhost.test_swaks import swaks
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host

POSTMASTER_IS_BOB = {
    '# postmaster = "hostmaster@example.org"  # example; default: none': (
        'postmaster = "bob@example.test"'
    )
}
MESSAGE = b"From: carol@outside.example\r\nSubject: to the postmaster\r\n\r\nHello.\r\n"


@pytest.fixture
async def configured(tmp_path: Path) -> AsyncIterator[MailHost]:
    """The host, `[routing] postmaster = "bob@example.test"`, and a second local domain."""
    async for host in start_host(tmp_path / "host", POSTMASTER_IS_BOB):
        await host.directory.add_domain("second.test")
        host.running.services.router.forget_directory()
        yield host


def rcpt(port: int, recipient: str, *, login: bool = False) -> tuple[int, bytes]:
    """One transaction with smtplib up to RCPT TO (then DATA if accepted): its reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.example")
        if login:
            client.starttls(context=client_tls())
            client.ehlo("client.example")
            client.login("alice@example.test", PASSWORD)
        sender = "alice@example.test" if login else "carol@outside.example"
        assert client.mail(sender)[0] == 250
        code, text = client.rcpt(recipient)
        if code == 250:
            assert client.data(MESSAGE)[0] == 250
        return code, text


@pytest.mark.parametrize(
    "recipient",
    ["postmaster@example.test", "PostMaster@Example.TEST", "postmaster@second.test", "postmaster"],
)
async def test_postmaster_of_each_local_domain_and_bare_is_delivered_to_the_configured_one(
    configured: MailHost, recipient: str
) -> None:
    code, _ = await asyncio.to_thread(rcpt, configured.port("smtp"), recipient)
    assert code == 250
    (message,) = await configured.delivered("bob@example.test")
    assert b"Subject: to the postmaster" in message


async def test_bare_postmaster_is_accepted_on_submission(configured: MailHost) -> None:
    code, _ = await asyncio.to_thread(rcpt, configured.port("submission"), "Postmaster", login=True)
    assert code == 250
    assert len(await configured.delivered("bob@example.test")) == 1


async def test_postmaster_of_a_foreign_domain_is_still_refused(configured: MailHost) -> None:
    code, text = await asyncio.to_thread(
        rcpt, configured.port("smtp"), "postmaster@foreign.example"
    )
    assert (code, text) == (554, b"5.7.1 <postmaster@foreign.example>: Relay access denied")


async def test_swaks_reaches_the_bare_postmaster(configured: MailHost) -> None:
    code, transcript = await swaks(
        "--port",
        str(configured.port("smtp")),
        "--from",
        "carol@outside.example",
        "--to",
        "postmaster",
    )
    assert code == 0, transcript
    assert " -> RCPT TO:<postmaster>" in transcript
    assert "<-  250 2.1.5 Ok" in transcript
    assert len(await configured.delivered("bob@example.test")) == 1


async def test_unset_without_a_postmaster_start_up_warns_and_rcpt_is_deferred_until_one_exists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mailroom.app.host"):
        async for host in start_host(tmp_path / "host"):
            (warning,) = [r.getMessage() for r in caplog.records if "no postmaster" in r.message]
            assert "postmaster@example.test is no account or alias" in warning
            port = host.port("smtp")
            code, text = await asyncio.to_thread(rcpt, port, "postmaster")
            assert (code, text[:6]) == (451, b"4.3.5 ")

            await host.directory.add_alias("postmaster@example.test", ["alice@example.test"])
            host.running.services.router.forget_directory()
            for recipient in ("postmaster", "postmaster@example.test"):
                assert (await asyncio.to_thread(rcpt, port, recipient))[0] == 250
            assert len(await host.delivered("alice@example.test")) == 2
