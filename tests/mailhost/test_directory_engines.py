"""The whole host with its directory on each engine: a SQLite file, and a fresh database
on the MariaDB and PostgreSQL test servers (created and dropped by `database_url`).
Real traffic goes through it, so every lookup the protocols make (recipients, aliases,
logins, the version counter that tells caches a password changed) runs on each engine:
SMTP delivery to an account and an alias, IMAP LOGIN/SELECT/FETCH, POP3 USER/PASS/UIDL,
a password change made by another connection taking effect, and a throttle ban.

One host per engine and two tests, to keep the suite's cost small; the rest of the
whole-host suite runs on SQLite."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.pop3_talk import POP3_LISTENERS, Pop3Talk, plain
from tests.support.smtp_talk import Talk

NEW_PASSWORD = "a new and longer passphrase"


@pytest.fixture
async def host(database_url: str, tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(
        tmp_path / "host", listeners=POP3_LISTENERS, directory_url=database_url
    ):
        yield running


def mail(subject: str) -> bytes:
    return f"From: sender@outside.example\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()


async def send(host: MailHost, recipient: str, subject: str) -> None:
    """Inbound mail from outside, over STARTTLS on the smtp listener (smtplib)."""

    def talk() -> None:
        with smtplib.SMTP("127.0.0.1", host.port("smtp"), timeout=30) as client:
            client.starttls(context=client_tls())
            refused = client.sendmail("sender@outside.example", [recipient], mail(subject))
            assert refused == {}

    await asyncio.to_thread(talk)


async def imap_login(host: MailHost, user: str, password: str) -> tuple[ImapTalk, bool]:
    talk = await ImapTalk.open(host.port("imaps"), tls=client_tls())
    return talk, (await talk.command(f'LOGIN {user} "{password}"')).ok


async def test_mail_reaches_accounts_and_aliases_and_is_read_over_imap_and_pop3(
    host: MailHost,
) -> None:
    await send(host, "alice@example.test", "to alice")
    await send(host, "pr@example.test", "to the pr alias")  # alice and bob
    await send(host, "alice.liddell@example.test", "to alice's extra address")
    assert len(await host.delivered("alice@example.test")) == 3
    assert len(await host.delivered("bob@example.test")) == 1

    imap, logged_in = await imap_login(host, "alice@example.test", PASSWORD)
    assert logged_in
    assert "* 3 EXISTS" in (await imap.command("SELECT INBOX")).text()
    fetched = (await imap.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")).text()
    for subject in ("to alice", "to the pr alias", "to alice's extra address"):
        assert f"Subject: {subject}" in fetched
    await imap.command("LOGOUT")
    await imap.close()

    pop3 = await Pop3Talk.open(host.port("pop3s"), tls=True)
    assert (await pop3.command("USER bob@example.test")).startswith(b"+OK")
    assert (await pop3.command(f"PASS {PASSWORD}")).startswith(b"+OK")
    status, uidls = await pop3.multiline("UIDL")
    assert status.startswith(b"+OK")
    assert [line.split()[0] for line in uidls] == [b"1"]
    assert (await pop3.command("QUIT")).startswith(b"+OK")
    await pop3.close()


async def test_a_password_change_takes_effect_and_failures_ban(
    host: MailHost, tmp_path: Path
) -> None:
    imap, logged_in = await imap_login(host, "bob@example.test", PASSWORD)
    assert logged_in  # and now in the login cache
    await imap.close()
    # Changed through a connection of its own, as `mailroom user passwd` would.
    other = await Directory.connect(host.config.directory, host.root)
    try:
        hashed = PasswordHasher(host.config.auth.passwords).hash(NEW_PASSWORD)
        assert await other.set_password_hash("bob@example.test", hashed)
    finally:
        await other.close()
    imap, logged_in = await imap_login(host, "bob@example.test", PASSWORD)
    assert not logged_in
    await imap.close()
    imap, logged_in = await imap_login(host, "bob@example.test", NEW_PASSWORD)
    assert logged_in
    await imap.close()

    smtp = await Talk.open(host.port("smtps"), tls=client_tls())
    await smtp.command("EHLO client.example")
    wrong = plain("alice@example.test", "guess")
    # The old password above was the first failure from this address; these make the ban.
    for _ in range(host.config.auth.throttle.max_failures_per_ip - 1):
        assert (await smtp.command(f"AUTH PLAIN {wrong}"))[0] == 535
    assert (await smtp.command(f"AUTH PLAIN {wrong}"))[0] == 454  # banned: try later
    smtp.close()
    # Banned: the right password is refused too, on every protocol.
    imap, logged_in = await imap_login(host, "alice@example.test", PASSWORD)
    assert not logged_in
    await imap.close()
    pop3 = await Pop3Talk.open(host.port("pop3s"), tls=True)
    await pop3.command("USER alice@example.test")
    assert (await pop3.command(f"PASS {PASSWORD}")).startswith(b"-ERR")
    await pop3.close()
