"""The IMAP tests' fixtures: a running Mailroom host with IMAP listeners, and Alice logged
in on it. The line-level client they talk through is tests/support/imap_talk.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk, login
from tests.support.mail_host import MailHost, start_host


@pytest.fixture
async def imap_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """The host with its folder poll off: every IMAP test is served in this one process,
    so an IDLE (or NOTIFY) woken at all was woken by the change's own notification, and a
    change that forgot to notify fails its test instead of waiting out the 5 s poll."""
    async for host in start_host(tmp_path / "host", listeners=IMAP_LISTENERS):
        host.running.services.events.poll_interval = 0
        yield host


@pytest.fixture
async def alice(imap_host: MailHost) -> AsyncIterator[ImapTalk]:
    """Alice logged in on imap_host's "imaps" listener, closed after the test.

    A module that needs more (messages appended, INBOX selected) overrides it with a
    fixture of the same name that takes this one: `async def alice(alice: ImapTalk)`."""
    talk = await login(imap_host)
    yield talk
    await talk.close()
