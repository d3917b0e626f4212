"""The POP3 tests' fixture: a running Mailroom host with POP3 listeners (and IMAP, to see
POP3's changes from the other side); helpers are in tests/support/pop3_talk.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost, start_host
from tests.support.pop3_talk import POP3_LISTENERS


@pytest.fixture
async def pop3_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path / "host", listeners=POP3_LISTENERS):
        yield host
