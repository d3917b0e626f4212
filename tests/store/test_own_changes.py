"""The store recognises its own changes (so a sync after them reads nothing again) without
missing what another process did meanwhile; copies keep their dates; renames and links
made relative to open directories land where they should."""

from __future__ import annotations

import asyncio
import os
import shutil
from array import array
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.store import Account, Mailbox, MailboxEvents, MailStore
from mailroom.store.file_changes import positions_of
from mailroom.store.folder_sync import SUSPECT_SECONDS_FINE
from mailroom.store.index import FILE_NAME as INDEX_FILE_NAME
from mailroom.store.index import MailboxIndex
from mailroom.store.uidlist import UidList, format_uidlist, parse_uidlist
from tests.support.search_text import text_of

MESSAGE = b"From: alice@example.org\r\nSubject: Lunch\r\n\r\nSee you at noon.\r\n"


@pytest.fixture
async def other_store() -> AsyncIterator[MailStore]:
    """A second store on the same files: what another Mailroom process would be."""
    mail_store = MailStore(events=MailboxEvents(), search_text=text_of, hostname="other.host")
    yield mail_store
    await mail_store.close()


async def test_a_message_another_process_adds_right_after_our_append_is_seen(
    inbox: Mailbox, other_store: MailStore, tmp_path: Path
) -> None:
    await inbox.append(MESSAGE, ["\\Seen"])
    other = await other_store.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    try:
        # The other process numbers its message in the uidlist we have just written.
        theirs = await other.append(MESSAGE + b"theirs\r\n", ["\\Flagged"])
    finally:
        await other.close()
    await inbox.append(MESSAGE)
    await inbox.sync()

    assert [m.uid for m in inbox.messages] == [1, 2, 3]
    found = inbox.find(theirs.uid)
    assert found is not None and found.flags == frozenset({"\\Flagged"})


async def test_a_change_made_in_the_same_clock_tick_as_ours_is_found_once_it_passes(
    inbox: Mailbox,
) -> None:
    """After our own STORE the folder is not listed again at once (we know what we
    did); a change another process made in the same tick, which leaves the
    directory's stamp as ours left it, is found by the first sync once the window
    of that tick has passed."""
    first = await inbox.append(MESSAGE, ["\\Seen"])
    second = await inbox.append(MESSAGE, ["\\Seen"])
    await inbox.sync()  # as at the end of every IMAP command: the folder is as we know it
    await inbox.store_flags([first.uid], "add", ["\\Flagged"])
    assert not await inbox.sync()  # only our own change: nothing to find
    cur = inbox.path / "cur"
    ours = os.stat(cur)
    # Another process flags the second message; the directory keeps our stamp.
    old = second.file_path
    os.rename(old, old.replace(":2,S", ":2,FS"))
    os.utime(cur, ns=(ours.st_atime_ns, ours.st_mtime_ns))

    await asyncio.sleep(SUSPECT_SECONDS_FINE + 0.05)
    assert await inbox.sync()

    found = inbox.find(second.uid)
    assert found is not None and found.flags == frozenset({"\\Seen", "\\Flagged"})


async def test_a_uidlist_rewritten_by_another_process_after_ours_is_read_again(
    inbox: Mailbox, other_store: MailStore, tmp_path: Path
) -> None:
    first = await inbox.append(MESSAGE)
    other = await other_store.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    try:
        await other.store_flags([first.uid], "add", ["\\Deleted"])
        await other.expunge()
        # An expunge (ours or Dovecot's) leaves the uidlist as it was; Dovecot drops the
        # record later: rewrite it by hand without the expunged name.
        uidlist = parse_uidlist((inbox.path / "dovecot-uidlist").read_bytes())
        uidlist.retain(set())
        (inbox.path / "dovecot-uidlist").write_bytes(format_uidlist(uidlist))
    finally:
        await other.close()
    await inbox.sync()

    assert list(inbox.messages) == []
    second = await inbox.append(MESSAGE)
    assert second.uid == first.uid + 1  # never the expunged one's UID again


async def test_flags_stored_on_a_message_in_new_move_it_to_cur(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE)
    assert message.recent

    (changed,), _ = await inbox.store_flags([message.uid], "add", ["\\Answered"])

    assert not changed.recent and changed.file_name.endswith(":2,R")
    assert os.listdir(inbox.path / "new") == []
    assert os.listdir(inbox.path / "cur") == [changed.file_name]
    assert (inbox.path / "cur" / changed.file_name).read_bytes() == MESSAGE.replace(b"\r\n", b"\n")


async def test_a_copy_keeps_the_internal_date_after_the_index_is_rebuilt(
    account: Account, store: MailStore, other_store: MailStore, tmp_path: Path
) -> None:
    inbox = await account.open("INBOX")
    archive = await account.open("Archive")
    try:
        date = datetime(2019, 5, 17, 8, 30, tzinfo=UTC)
        original = await inbox.append(MESSAGE, ["\\Seen"], date)
        ((_, copy_uid),) = await inbox.copy([original.uid], archive)
        path = archive.path
    finally:
        await inbox.close()
        await archive.close()
    await store.close()  # nothing lingers: the next open reads the disk
    (path / INDEX_FILE_NAME).unlink()

    archive = await other_store.account(tmp_path / "Maildir", quota_bytes=None).open("Archive")
    try:
        copied = archive.find(copy_uid)
        assert copied is not None
        assert copied.internaldate == date
        assert copied.flags == frozenset({"\\Seen"})
    finally:
        await archive.close()


@pytest.fixture
async def elsewhere(store: MailStore, tmp_path: Path) -> AsyncIterator[tuple[Mailbox, Mailbox]]:
    """An INBOX here and one on another file system (/dev/shm): no link or rename
    between them can work."""
    shm = Path(os.environ.get("MAILROOM_TEST_SHM", "/dev/shm"))
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.fail("these tests need /dev/shm on a file system other than the temporary one")
    other_root = shm / f"mailroom-{os.getpid()}-{tmp_path.name}"
    try:
        source = await store.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
        target = await store.account(other_root / "Maildir", quota_bytes=None).open("INBOX")
        try:
            yield source, target
        finally:
            await source.close()
            await target.close()
    finally:
        shutil.rmtree(other_root, ignore_errors=True)


async def test_a_copy_to_another_file_system_is_a_durable_copy_with_its_date(
    elsewhere: tuple[Mailbox, Mailbox],
) -> None:
    source, target = elsewhere
    date = datetime(2020, 2, 29, 12, 0, tzinfo=UTC)
    original = await source.append(MESSAGE, ["\\Flagged"], date)
    ((_, copy_uid),) = await source.copy([original.uid], target)

    copied = target.find(copy_uid)
    assert copied is not None
    assert copied.flags == frozenset({"\\Flagged"}) and copied.internaldate == date
    assert os.stat(copied.path).st_ino != os.stat(original.path).st_ino
    assert os.stat(copied.path).st_mtime == date.timestamp()
    assert await target.read(copy_uid) == MESSAGE
    assert os.listdir(target.path / "tmp") == []


async def test_a_move_to_another_file_system_copies_then_deletes_the_original(
    elsewhere: tuple[Mailbox, Mailbox],
) -> None:
    source, target = elsewhere
    date = datetime(2020, 2, 29, 12, 0, tzinfo=UTC)
    original = await source.append(MESSAGE, ["\\Answered"], date)
    ((_, moved_uid),) = await source.move([original.uid], target)

    moved = target.find(moved_uid)
    assert moved is not None
    assert moved.flags == frozenset({"\\Answered"}) and moved.internaldate == date
    assert await target.read(moved_uid) == MESSAGE
    assert not original.path.exists()
    assert source.messages == ()
    assert os.listdir(target.path / "tmp") == []


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("assign"), st.lists(st.integers(0, 40), max_size=8)),
            st.tuples(st.just("retain"), st.sets(st.integers(0, 40))),
            st.tuples(st.just("write"), st.none()),
        ),
        max_size=25,
    )
)
def test_a_uidlist_written_again_and_again_is_what_a_fresh_format_gives(
    steps: list[tuple[str, object]],
) -> None:
    uidlist = UidList(1700000000, 1)
    for action, argument in steps:
        if action == "assign":
            assert isinstance(argument, list)
            names = [f"1700000000.M{n}P1.host" for n in argument]
            uids = uidlist.assign_in_order(names)
            assert [uidlist.uid_of(name) for name in names] == uids
        elif action == "retain":
            assert isinstance(argument, set)
            uidlist.retain({f"1700000000.M{n}P1.host" for n in argument})
        else:
            written = format_uidlist(uidlist)
            fresh = UidList(uidlist.uidvalidity, uidlist.next_uid, records=list(uidlist.records))
            assert written == format_uidlist(fresh)
            again = parse_uidlist(written)
            assert again.records == uidlist.records and again.next_uid == uidlist.next_uid


def never(data: bytes) -> bytes:
    raise AssertionError("a copy's cached value was computed again")


async def test_a_copy_in_the_same_folder_takes_its_cached_values_and_texts(
    inbox: Mailbox,
) -> None:
    message = await inbox.append(MESSAGE)
    assert await inbox.cached(message.uid, "envelope", lambda data: b"envelope") == b"envelope"
    assert await inbox.search_text("noon", [message.uid]) == {message.uid}

    ((_, copy_uid),) = await inbox.copy([message.uid], inbox)
    await inbox.settled()

    assert await inbox.cached(copy_uid, "envelope", never) == b"envelope"
    index = MailboxIndex(inbox.path)  # a second reader of the same file
    try:
        assert index.texts_missing([message.uid, copy_uid]) == []
    finally:
        index.close()
    assert await inbox.search_text("noon", [message.uid, copy_uid]) == {message.uid, copy_uid}


async def test_a_copy_from_a_folder_whose_index_is_gone_still_copies(account: Account) -> None:
    inbox = await account.open("INBOX")
    archive = await account.open("Archive")
    try:
        message = await inbox.append(MESSAGE)
        await inbox.cached(message.uid, "envelope", lambda data: b"envelope")
        (inbox.path / INDEX_FILE_NAME).unlink()  # an administrator's clean-up, say

        ((_, copy_uid),) = await inbox.copy([message.uid], archive)

        assert await archive.read(copy_uid) == MESSAGE
        assert await archive.cached(copy_uid, "envelope", lambda data: b"again") == b"again"
        assert await archive.search_text("noon", [copy_uid]) == {copy_uid}
    finally:
        await inbox.close()
        await archive.close()


@settings(max_examples=200, deadline=None)
@given(
    present=st.lists(st.integers(1, 60), unique=True).map(sorted),
    wanted=st.lists(st.integers(1, 60), unique=True).map(sorted),
)
def test_positions_of_finds_exactly_the_uids_the_snapshot_has(
    present: list[int], wanted: list[int]
) -> None:
    positions = list(positions_of(array("I", present), wanted))
    assert [present[p] for p in positions] == [uid for uid in wanted if uid in present]
