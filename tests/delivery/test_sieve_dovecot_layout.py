"""A member's scripts as a Dovecot host left them: `~/sieve/NAME.sieve`, the link
`~/.dovecot.sieve`, and the `.svbin` binaries Pigeonhole's own `sievec` wrote beside
them. Mailroom runs the same active script at delivery and leaves the binaries alone,
so a rollback to Dovecot finds everything as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost
from tests.support.sieve_host import fetch_all, send, start_sieve_host
from tests.support.sieve_layout import write_sieve_layout

ALICE = "alice@example.test"
CAROL = "carol@outside.example"

ACTIVE = (
    'require ["fileinto", "imap4flags", "mailbox"];\n'
    'if header :contains "subject" "[members]" {\n'
    '  fileinto :create :flags "\\\\Seen" "Members";\n'
    "}\n"
)
INACTIVE = 'require ["fileinto", "mailbox"];\nfileinto :create "Wrong";\n'


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_sieve_host(tmp_path / "host"):
        yield running


async def test_the_active_script_dovecot_compiled_runs_and_its_binaries_are_left_alone(
    host: MailHost,
) -> None:
    home = host.maildir(ALICE).parent
    write_sieve_layout(
        home, {"roundcube": ACTIVE, "old": INACTIVE}, active="roundcube", compiled=True
    )
    binaries = sorted(home.rglob("*.svbin"))
    assert binaries, "sievec left no binaries"
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in binaries}

    for subject in ("[members] meeting", "lunch"):
        data = f"From: {CAROL}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\r\nHi.\r\n".encode()
        await asyncio.to_thread(send, host, CAROL, [ALICE], data)
    await host.running.dispatcher.settled()

    members = await asyncio.to_thread(fetch_all, host, ALICE, "Members")
    inbox = await asyncio.to_thread(fetch_all, host, ALICE, "INBOX")
    assert [b"[members] meeting" in item.message for item in members] == [True]
    assert [item.flags for item in members] == [frozenset({"\\Seen"})]
    assert [b"lunch" in item.message for item in inbox] == [True]
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in binaries} == before
    assert sorted(home.rglob("*.svbin")) == binaries
