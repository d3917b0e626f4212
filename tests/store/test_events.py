"""Change events: a waiter on a folder wakes at once when this process changes it,
and within a poll interval when another process does; nobody polls for our own
changes."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import MailboxEvents, Maildir, MailStore

MESSAGE = b"Subject: ping\r\n\r\nping\r\n"


async def make_store(poll_interval: float) -> AsyncIterator[MailStore]:
    mail_store = MailStore(
        events=MailboxEvents(poll_interval=poll_interval),
        search_text=lambda data: ("", data.decode()),
        hostname="test.host",
    )
    yield mail_store
    await mail_store.close()


@pytest.fixture
async def store() -> AsyncIterator[MailStore]:
    """A store that never polls: only this process's own notification can wake a waiter,
    so a test that waits for one fails if the change did not notify."""
    async for mail_store in make_store(poll_interval=0):
        yield mail_store


@pytest.fixture
async def polling_store() -> AsyncIterator[MailStore]:
    """A store that polls often, for changes made by other processes."""
    async for mail_store in make_store(poll_interval=0.05):
        yield mail_store


async def test_notify_wakes_a_waiter_at_once(tmp_path: Path) -> None:
    events = MailboxEvents(poll_interval=0)
    async with events.watch(tmp_path) as waiter:
        task = asyncio.create_task(waiter.wait())
        await asyncio.sleep(0)
        assert not task.done()

        events.notify(tmp_path)

        async with asyncio.timeout(1):
            await task


async def test_a_notification_between_two_waits_is_not_lost(tmp_path: Path) -> None:
    events = MailboxEvents(poll_interval=0)
    async with events.watch(tmp_path) as waiter:
        events.notify(tmp_path / "." / "")  # the same folder, spelled differently

        assert waiter.pending
        async with asyncio.timeout(1):
            await waiter.wait()
        assert not waiter.pending


async def test_notify_from_another_thread_wakes_the_waiter(tmp_path: Path) -> None:
    events = MailboxEvents(poll_interval=0)
    async with events.watch(tmp_path) as waiter:
        thread = threading.Thread(target=events.notify, args=(tmp_path,))
        thread.start()
        async with asyncio.timeout(1):
            await waiter.wait()
        thread.join()


async def test_other_folders_do_not_wake_the_waiter(tmp_path: Path) -> None:
    events = MailboxEvents(poll_interval=0)
    (tmp_path / "a").mkdir()
    async with events.watch(tmp_path / "a") as waiter:
        events.notify(tmp_path / "b")

        assert not waiter.pending
    assert events.watching(tmp_path / "a") == 0


async def test_an_append_in_one_session_wakes_another_sessions_idle(
    store: MailStore, tmp_path: Path
) -> None:
    account = store.account(tmp_path / "Maildir", quota_bytes=None)
    idler = await account.open("INBOX")
    writer = await account.open("INBOX")
    async with idler.watch() as waiter:
        await writer.append(MESSAGE)

        async with asyncio.timeout(1):
            await waiter.wait()
    assert [m.uid for m in idler.messages] == [1]
    await idler.close()
    await writer.close()


async def test_a_delivery_by_another_process_wakes_the_waiter_through_the_poll(
    polling_store: MailStore, tmp_path: Path
) -> None:
    account = polling_store.account(tmp_path / "Maildir", quota_bytes=None)
    inbox = await account.open("INBOX")
    async with inbox.watch() as waiter:
        # Another process delivers: nobody calls notify().
        Maildir(inbox.path, hostname="other").deliver(io.BytesIO(b"Subject: hi\n\nhi\n"))

        async with asyncio.timeout(2):
            await waiter.wait()
    assert await inbox.sync()
    assert len(inbox.messages) == 1
    await inbox.close()


async def test_the_poller_stops_when_the_last_waiter_leaves(tmp_path: Path) -> None:
    events = MailboxEvents(poll_interval=0.01)
    async with events.watch(tmp_path):
        assert events.watching(tmp_path) == 1
    assert events.watching(tmp_path) == 0
    assert os.fspath(tmp_path) not in events._watched
