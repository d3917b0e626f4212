"""The queue's fixture: an opened queue in a fresh directory, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.queue import MailQueue


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[MailQueue]:
    async with MailQueue(tmp_path / "queue") as opened:
        yield opened
