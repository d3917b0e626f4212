"""The mailhost tests' fixture: a whole Mailroom host on loopback (tests/support/mail_host.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost, start_host


@pytest.fixture
async def mailhost(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path / "host"):
        yield host
