"""IDLE wake-ups between the processes of a host: a change notified in one process's
MailboxEvents wakes the waiters of every other, through the main process's hub (here
three hubs in one event loop, linked by real socket pairs as the processes are)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.ipc import Link
from mailroom.store import MailboxEvents
from mailroom.store.event_hub import MAX_KEYS, EventFrameError, EventHub, frames_of, parse_notify


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["k", "keys"]),
        st.none() | st.text() | st.lists(st.none() | st.integers() | st.text(), max_size=300),
    )
)
def test_any_notify_frame_gives_absolute_paths_or_an_error(frame: dict[str, object]) -> None:
    try:
        keys = parse_notify(frame)
    except EventFrameError:
        return
    assert 0 < len(keys) <= MAX_KEYS
    assert all(key.startswith("/") and "\x00" not in key for key in keys)


@given(
    st.lists(
        st.text(min_size=1, max_size=30).map(lambda t: "/" + t.replace("\x00", "")), max_size=700
    )
)
def test_many_keys_go_in_several_frames_each_valid(keys: list[str]) -> None:
    frames = frames_of(keys)
    assert [key for frame in frames for key in parse_notify(frame)] == keys


@pytest.fixture
async def host() -> AsyncIterator[tuple[MailboxEvents, MailboxEvents, MailboxEvents]]:
    """The events of a main process and two workers, linked as `mailroom serve` links them."""
    main_events = MailboxEvents(poll_interval=0)
    hub = EventHub(main_events, relay=True)
    links, tasks = [], []
    workers = []
    for number in range(2):
        ours, theirs = socket.socketpair()
        at_main, at_worker = Link(ours, name=f"worker {number}"), Link(theirs, name="main")
        events = MailboxEvents(poll_interval=0)
        EventHub(events, relay=False).attach(at_worker)
        hub.attach(at_main)
        for link in (at_main, at_worker):
            await link.open()
            tasks.append(asyncio.create_task(link.run()))
            links.append(link)
        workers.append(events)
    yield main_events, workers[0], workers[1]
    for link in links:
        link.close()
    await asyncio.gather(*tasks)


async def woken(events: MailboxEvents, folder: Path, notify: object) -> None:
    assert callable(notify)
    async with events.watch(folder) as waiter:
        notify()
        async with asyncio.timeout(10):  # a bound on a hang: the hub answers at once
            await waiter.wait()


async def test_a_change_in_one_worker_wakes_the_other(
    host: tuple[MailboxEvents, MailboxEvents, MailboxEvents], tmp_path: Path
) -> None:
    _, first, second = host
    folder = tmp_path / "Maildir"
    await woken(second, folder, lambda: first.notify(folder))
    await woken(first, folder, lambda: second.notify(folder / "." / ""))


async def test_a_delivery_in_the_main_process_wakes_both_workers(
    host: tuple[MailboxEvents, MailboxEvents, MailboxEvents], tmp_path: Path
) -> None:
    main, first, second = host
    folder = tmp_path / "Maildir" / ".Sent"
    async with first.watch(folder) as one, second.watch(folder) as two:
        main.notify(folder)
        async with asyncio.timeout(10):
            await one.wait()
            await two.wait()


async def test_a_burst_of_changes_is_gathered_and_still_wakes(
    host: tuple[MailboxEvents, MailboxEvents, MailboxEvents], tmp_path: Path
) -> None:
    _, first, second = host
    folder = tmp_path / "Maildir"
    async with second.watch(folder) as waiter:
        for _ in range(1000):
            first.notify(folder)
        async with asyncio.timeout(10):
            await waiter.wait()
        assert first.watching(folder) == 0 and second.watching(folder) == 1
