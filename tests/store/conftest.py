"""Shared fixtures of the store tests: a MailStore, an account with its default
folders, and its INBOX open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import Account, Mailbox, MailboxEvents, MailStore
from tests.support.search_text import text_of


@pytest.fixture
async def store() -> AsyncIterator[MailStore]:
    mail_store = MailStore(events=MailboxEvents(), search_text=text_of, hostname="test.host")
    yield mail_store
    await mail_store.close()


@pytest.fixture
async def account(store: MailStore, tmp_path: Path) -> Account:
    account = store.account(tmp_path / "Maildir", quota_bytes=None)
    await account.ensure_default_folders()
    return account


@pytest.fixture
async def inbox(account: Account) -> AsyncIterator[Mailbox]:
    mailbox = await account.open("INBOX")
    yield mailbox
    await mailbox.close()
