"""Members' Sieve scripts at delivery, end to end: a script written in Pigeonhole's layout,
mail in over SMTP (smtplib), the result read over IMAP (imaplib). Filing with flags,
discard, a script that does not compile, a runaway script stopped by its limits, a
global script before the member's own, and `[sieve] enabled = false`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost
from tests.support.sieve_host import fetch_all, install_script, send, start_sieve_host

ALICE = "alice@example.test"
CAROL = "carol@outside.example"


def message(subject: str = "hello", extra: str = "") -> bytes:
    return (
        f"From: Carol <{CAROL}>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@outside.example>\r\n{extra}"
        "\r\nHi there.\r\n"
    ).encode()


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_sieve_host(tmp_path / "host"):
        yield running


async def deliver(host: MailHost, data: bytes, recipients: list[str] | None = None) -> None:
    await asyncio.to_thread(send, host, CAROL, recipients or [ALICE], data)
    await host.running.dispatcher.settled()


async def folder(host: MailHost, name: str = "INBOX", address: str = ALICE) -> list[object]:
    return list(await asyncio.to_thread(fetch_all, host, address, name))


async def test_fileinto_files_the_message_with_its_flags(host: MailHost) -> None:
    install_script(
        host,
        ALICE,
        "rules",
        'require ["fileinto", "imap4flags"];\n'
        'if header :contains "subject" "[python]" {\n'
        '  fileinto :flags ["\\\\Seen", "$Lists"] "Lists";\n'
        "}\n",
    )
    lists = host.maildir(ALICE) / ".Lists"
    for sub in ("cur", "new", "tmp"):
        (lists / sub).mkdir(parents=True)

    await deliver(host, message("[python] release"))
    await deliver(host, message("lunch"))

    [filed] = await asyncio.to_thread(fetch_all, host, ALICE, "Lists")
    assert filed.flags == {"\\Seen", "$Lists"}
    assert b"Subject: [python] release" in filed.message
    [kept] = await asyncio.to_thread(fetch_all, host, ALICE)
    assert b"Subject: lunch" in kept.message and kept.flags == frozenset()


async def test_fileinto_a_missing_folder_delivers_to_inbox(host: MailHost) -> None:
    install_script(host, ALICE, "rules", 'require "fileinto";\nfileinto "Nowhere";\n')
    await deliver(host, message())
    assert len(await folder(host)) == 1


async def test_fileinto_create_makes_the_folder(host: MailHost) -> None:
    install_script(
        host, ALICE, "rules", 'require ["fileinto", "mailbox"];\nfileinto :create "Lists.New";\n'
    )
    await deliver(host, message())
    assert len(await folder(host, "Lists.New")) == 1
    assert await folder(host) == []


async def test_discard_leaves_nothing_and_logs_it(
    host: MailHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mailroom.delivery")
    install_script(host, ALICE, "rules", 'if header :is "subject" "spam" { discard; }\n')
    await deliver(host, message("spam"))
    assert await folder(host) == []
    assert any(
        f"to=<{ALICE}>, relay=local, status=sent (discarded by sieve)" in line
        for line in caplog.messages
    )


async def test_a_script_that_does_not_compile_keeps_the_message_and_names_the_line(
    host: MailHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mailroom.delivery")
    install_script(host, ALICE, "broken", 'discard;\nif true { fileinto "X"; }\n')
    await deliver(host, message())
    assert len(await folder(host)) == 1
    [line] = [m for m in caplog.messages if "not run" in m]
    assert "broken.sieve" in line and "broken: line 2:" in line


async def test_a_runaway_script_is_stopped_by_its_limits_and_the_mail_kept(
    host: MailHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mailroom.delivery")
    redirects = "".join(f'redirect "r{n}@outside.example";\n' for n in range(10))
    install_script(host, ALICE, "runaway", redirects)
    await deliver(host, message())
    assert len(await folder(host)) == 1
    assert host.internet.mx.received == []
    assert any("Sieve run stopped, message kept" in m and ALICE in m for m in caplog.messages)


async def test_a_global_script_runs_before_the_members_own(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    (root / "spam.sieve").write_text(
        'require ["fileinto", "imap4flags"];\n'
        'if header :is "X-Spam-Flag" "YES" { fileinto :flags "$Junk" "Junk"; }\n'
    )
    settings = {"# before = []": 'before = ["spam.sieve"]'}
    async for host in start_sieve_host(root, settings):
        install_script(host, ALICE, "rules", 'if header :is "subject" "lunch" { discard; }\n')
        for sub in ("cur", "new", "tmp"):
            (host.maildir(ALICE) / ".Junk" / sub).mkdir(parents=True)
        await deliver(host, message("offer", "X-Spam-Flag: YES\r\n"))
        await deliver(host, message("lunch"))
        [junk] = await asyncio.to_thread(fetch_all, host, ALICE, "Junk")
        assert junk.flags == {"$Junk"} and b"Subject: offer" in junk.message
        assert await folder(host) == []  # lunch: the member's own script discarded it
        # bob has no script of his own: the global one still runs.
        await deliver(host, message("offer", "X-Spam-Flag: YES\r\n"), ["bob@example.test"])
        assert (host.maildir("bob@example.test") / ".Junk").exists() is False
        assert len(await folder(host, "INBOX", "bob@example.test")) == 1


async def test_sieve_can_be_turned_off(tmp_path: Path) -> None:
    settings = {
        "# Members' filters (RFC 5228), run at local delivery; ManageSieve edits them.\n"
        "# enabled = true": "enabled = false"
    }
    async for host in start_sieve_host(tmp_path / "host", settings):
        install_script(host, ALICE, "rules", "discard;\n")
        await deliver(host, message())
        assert len(await folder(host)) == 1


async def test_include_finds_personal_and_global_scripts(tmp_path: Path) -> None:
    root = tmp_path / "host"
    (root / "sieve-global").mkdir(parents=True)
    (root / "sieve-global" / "spam.sieve").write_text(
        'require "fileinto";\nif header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }\n'
    )
    settings = {
        '# global_directory = "sieve-global"  # example; default: none': (
            'global_directory = "sieve-global"'
        )
    }
    async for host in start_sieve_host(root, settings):
        install_script(host, ALICE, "lists", 'if header :contains "subject" "[x]" { discard; }\n')
        install_script(
            host,
            ALICE,
            "main",
            'require "include";\ninclude :global "spam";\ninclude :personal "lists";\n',
        )
        for sub in ("cur", "new", "tmp"):
            (host.maildir(ALICE) / ".Junk" / sub).mkdir(parents=True)
        await deliver(host, message("offer", "X-Spam-Flag: YES\r\n"))
        await deliver(host, message("[x] news"))
        await deliver(host, message("hello"))
        assert len(await folder(host, "Junk")) == 1
        [kept] = await asyncio.to_thread(fetch_all, host, ALICE)
        assert b"Subject: hello" in kept.message
