"""Folder-list changes (IMAP NOTIFY's MailboxName and SubscriptionChange) between the
processes of a host: announced in one worker, told to the listeners of the same account
in the other, in order, through the main process's hub (three hubs in one event loop,
linked by real socket pairs). Their frames are checked like any input."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.store import MailboxEvents
from mailroom.store.event_hub import EventFrameError, list_frame, parse_list
from mailroom.store.events import EVENT_ORIGIN, ListChange, ListChangeKind
from tests.store.test_event_hub import host  # noqa: F401 - the fixture

Host = tuple[MailboxEvents, MailboxEvents, MailboxEvents]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["k", "root", "kind", "name", "old"]),
        st.none()
        | st.integers()
        | st.text(max_size=40)
        | st.sampled_from([kind.value for kind in ListChangeKind])
        | st.text(max_size=20).map(lambda t: "/" + t),
    )
)
def test_any_list_frame_gives_a_change_or_an_error(frame: dict[str, object]) -> None:
    try:
        root, change = parse_list(frame)
    except EventFrameError:
        return
    assert root.startswith("/") and "\x00" not in root
    assert change.name and "\x00" not in change.name
    assert (change.old_name is not None) == (change.kind is ListChangeKind.RENAMED)
    assert parse_list(list_frame(root, change)) == (root, change)


@given(
    st.sampled_from(list(ListChangeKind)),
    st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t),
    st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t),
)
def test_a_list_frame_reads_back_as_sent(kind: ListChangeKind, name: str, old: str) -> None:
    change = ListChange(kind, name, old if kind is ListChangeKind.RENAMED else None)
    assert parse_list(list_frame("/srv/mail/alice", change)) == ("/srv/mail/alice", change)


async def heard(listener: object, count: int) -> list[ListChange]:
    changes: list[ListChange] = []
    async with asyncio.timeout(10):  # a bound on a lost frame: the hub answers at once
        while len(changes) < count:
            await listener.wait()  # type: ignore[attr-defined]
            changes += listener.take()[1]  # type: ignore[attr-defined]
    return changes


CHANGES = [
    ListChange(ListChangeKind.CREATED, "Projects"),
    ListChange(ListChangeKind.SUBSCRIBED, "Projects"),
    ListChange(ListChangeKind.RENAMED, "Archive", "Projects"),
    ListChange(ListChangeKind.UNSUBSCRIBED, "Archive"),
    ListChange(ListChangeKind.DELETED, "Archive"),
]


async def test_list_changes_in_one_worker_reach_the_other_in_order(
    host: Host,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    _, first, second = host
    account = tmp_path / "alice" / "Maildir"
    other_account = second.listen(tmp_path / "bob" / "Maildir", limit=100)
    elsewhere = second.listen(account, limit=100)
    EVENT_ORIGIN.set(object())  # a session: what it listens to and what it changes
    here = first.listen(account, limit=100)
    for change in CHANGES:
        first.announce(account, change)
    assert await heard(elsewhere, len(CHANGES)) == CHANGES
    assert not here.pending  # RFC 5465 §5: not told of its own changes
    assert not other_account.pending


async def test_a_list_change_in_the_main_process_reaches_both_workers(
    host: Host,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    main, first, second = host
    account = tmp_path / "alice" / "Maildir"
    listeners = [first.listen(account, limit=10), second.listen(account, limit=10)]
    main.announce(account, CHANGES[0])
    for listener in listeners:
        assert await heard(listener, 1) == [CHANGES[0]]
