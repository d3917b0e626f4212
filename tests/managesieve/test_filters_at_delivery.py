"""The whole path a member takes: upload a filter with a real ManageSieve client
(Debian's `sieve-connect`, sievelib's `Client`), activate it, then mail arrives over
SMTP and the member reads over IMAP what the filter did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sievelib.managesieve import Client

from mailroom.config.example import ListenerExample
from tests.support.mail_host import PASSWORD, MailHost, start_host
from tests.support.managesieve_talk import ALICE, MANAGESIEVE_LISTENERS, sieve_connect
from tests.support.sieve_host import fetch_all, send

LISTENERS = (*MANAGESIEVE_LISTENERS, ListenerExample("imaps", "imap", 0, "implicit"))

FILTERS = (
    'require ["fileinto", "imap4flags", "mailbox"];\r\n'
    'if header :contains "List-Id" "members.example.org" {\r\n'
    '    fileinto :create :flags "\\\\Seen" "Lists";\r\n'
    "    stop;\r\n"
    "}\r\n"
    'if address :is "from" "boss@example.org" {\r\n'
    '    addflag "\\\\Flagged";\r\n'
    "}\r\n"
)


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path / "host", listeners=LISTENERS):
        yield running


def message(sender: str, subject: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n{extra}"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\nHello.\r\n"
    ).encode()


async def deliver_the_three_kinds(host: MailHost) -> None:
    for sender, subject, extra in (
        ("list@members.example.org", "list post", "List-Id: <members.example.org>\r\n"),
        ("boss@example.org", "from the boss", ""),
        ("friend@example.net", "from a friend", ""),
    ):
        await asyncio.to_thread(send, host, sender, [ALICE], message(sender, subject, extra))


async def subjects_and_flags(host: MailHost, folder: str) -> dict[str, frozenset[str]]:
    found = await asyncio.to_thread(fetch_all, host, ALICE, folder)
    result = {}
    for item in found:
        subject = next(
            line for line in item.message.split(b"\r\n") if line.startswith(b"Subject: ")
        )
        result[subject.removeprefix(b"Subject: ").decode()] = item.flags
    return result


async def test_a_filter_uploaded_with_sieve_connect_sorts_the_mail_that_arrives(
    host: MailHost, tmp_path: Path
) -> None:
    local = tmp_path / "filters.sieve"
    local.write_text(FILTERS)
    upload = await sieve_connect(
        host, "--upload", "--localsieve", str(local), "--remotesieve", "filters"
    )
    assert upload.returncode == 0, upload.output
    activate = await sieve_connect(host, "--activate", "--remotesieve", "filters")
    assert activate.returncode == 0, activate.output

    await deliver_the_three_kinds(host)

    assert await subjects_and_flags(host, "Lists") == {"list post": frozenset({"\\Seen"})}
    assert await subjects_and_flags(host, "INBOX") == {
        "from the boss": frozenset({"\\Flagged"}),
        "from a friend": frozenset(),
    }


def upload_with_sievelib(port: int) -> None:
    client = Client("127.0.0.1", port)
    assert client.connect(ALICE, PASSWORD, starttls=True, authmech="PLAIN")
    assert client.putscript("filters", FILTERS)
    assert client.setactive("filters")
    client.logout()


async def test_a_filter_uploaded_with_sievelib_sorts_the_mail_that_arrives(
    host: MailHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sievelib verifies the certificate against the default CAs: the host's is one.
    monkeypatch.setenv("SSL_CERT_FILE", str(host.root / "tls" / "cert.pem"))
    await asyncio.to_thread(upload_with_sievelib, host.port("sieve"))

    await deliver_the_three_kinds(host)

    assert set(await subjects_and_flags(host, "Lists")) == {"list post"}
    assert set(await subjects_and_flags(host, "INBOX")) == {"from the boss", "from a friend"}


async def test_without_an_active_filter_everything_stays_in_the_inbox(
    host: MailHost, tmp_path: Path
) -> None:
    local = tmp_path / "filters.sieve"
    local.write_text(FILTERS)
    upload = await sieve_connect(
        host, "--upload", "--localsieve", str(local), "--remotesieve", "filters"
    )
    assert upload.returncode == 0, upload.output  # uploaded, never activated

    await deliver_the_three_kinds(host)

    assert set(await subjects_and_flags(host, "INBOX")) == {
        "list post",
        "from the boss",
        "from a friend",
    }
