"""Reading a Maildir folder as Dovecot does: messages in UID order, flags from
file names, new files numbered in the shared `dovecot-uidlist`. The fixture
Maildir under fixtures/dovecot-2.3/ was written by Dovecot 2.3.19.1.

These talk to `FolderState` (folder_state.py), the blocking side of a Mailbox."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mailroom.store import Maildir
from mailroom.store.file_changes import UNLINK_IN_THREADS_FROM, unlink_messages
from mailroom.store.folder_state import FolderState
from mailroom.store.folder_uids import FolderUids
from mailroom.store.index import FILE_NAME
from mailroom.store.keywords import KeywordsError, TooManyKeywords, add_keywords
from mailroom.store.uidlist import read_uidlist

FIXTURES = Path(__file__).parent / "fixtures" / "dovecot-2.3"
MESSAGE = b"From: alice@example.org\r\nSubject: hi\r\n\r\nHello\r\n"


@pytest.fixture
def dovecot_maildir(tmp_path: Path) -> Path:
    """A copy of the Maildir Dovecot wrote (git keeps no empty tmp/ directories)."""
    root = tmp_path / "Maildir"
    shutil.copytree(FIXTURES / "Maildir", root)
    for folder in (root, root / ".Entw&APw-rfe"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(exist_ok=True)
    return root


@contextmanager
def opened(path: Path) -> Iterator[FolderState]:
    """The folder, opened (its index loaded and synced with the disk)."""
    state = FolderState(path, lock_wait=5.0)
    state.open()
    try:
        yield state
    finally:
        state.close()


def test_dovecots_maildir_is_served_with_dovecots_uids_and_flags(dovecot_maildir: Path) -> None:
    with opened(dovecot_maildir) as state:
        messages = state.snapshot.messages

    # UID 3 was expunged by Dovecot; its record is still in the uidlist.
    assert [m.uid for m in messages] == [1, 2, 4, 5, 6]
    first, second, fourth, _, sixth = messages
    assert first.flags == {"\\Seen", "$Forwarded"}
    assert second.flags == {"\\Flagged", "\\Answered", "Junk", "NonJunk"}
    assert fourth.flags == set()
    assert (first.stored_size, first.size) == (40, 44)
    assert sixth.recent and sixth.path.parent.name == "new"
    assert not first.recent


def test_opening_a_fully_numbered_folder_leaves_dovecots_uidlist_untouched(
    dovecot_maildir: Path,
) -> None:
    before = (dovecot_maildir / "dovecot-uidlist").read_bytes()

    with opened(dovecot_maildir):
        pass

    assert (dovecot_maildir / "dovecot-uidlist").read_bytes() == before


def test_a_folder_below_the_inbox_keeps_its_own_uids(dovecot_maildir: Path) -> None:
    with opened(dovecot_maildir / ".Entw&APw-rfe") as state:
        (message,) = state.snapshot.messages

    assert message.uid == 1
    assert message.stored_size == 42


def test_a_delivered_message_appears_with_the_next_uid_its_size_and_no_flags(
    dovecot_maildir: Path,
) -> None:
    with opened(dovecot_maildir) as state:
        Maildir(dovecot_maildir, hostname="mx.example.org").deliver(io.BytesIO(MESSAGE))
        state.sync(force=True)
        delivered = state.snapshot.messages[-1]

    assert delivered.uid == 7  # after Dovecot's 6, though its header said N1
    assert delivered.stored_size == len(MESSAGE.replace(b"\r\n", b"\n"))
    assert delivered.size == len(MESSAGE)
    assert delivered.flags == set()
    assert delivered.recent
    # The expunged UID 3 is dropped from the rewritten list, never reused.
    uidlist = read_uidlist(dovecot_maildir)
    assert uidlist is not None
    assert [r.uid for r in uidlist.records] == [1, 2, 4, 5, 6, 7]
    assert uidlist.next_uid == 8
    assert uidlist.uidvalidity == 1795616411


def test_an_empty_new_folder_gets_a_uidlist_when_first_opened(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").create()

    with opened(tmp_path) as state:
        assert state.snapshot.messages == ()
        uidlist = read_uidlist(tmp_path)
        assert uidlist is not None and uidlist.next_uid == 1
        assert state.snapshot.uidvalidity == uidlist.uidvalidity


def test_messages_keep_their_uids_across_syncs_and_new_ones_follow(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    maildir.deliver(io.BytesIO(b"one\n"))
    maildir.deliver(io.BytesIO(b"two\n"))
    with opened(tmp_path) as state:
        first = state.snapshot.messages

        maildir.deliver(io.BytesIO(b"three\n"))
        state.sync(force=True)
        second = state.snapshot.messages

    assert [(m.uid, m.base_name) for m in second[:2]] == [(m.uid, m.base_name) for m in first]
    assert [m.uid for m in second] == [1, 2, 3]


def test_an_expunged_uid_is_never_given_again(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    maildir.deliver(io.BytesIO(b"one\n"))
    maildir.deliver(io.BytesIO(b"two\n"))
    with opened(tmp_path) as state:
        assert [m.uid for m in state.expunge({2}, False)] == [2]

        maildir.deliver(io.BytesIO(b"three\n"))
        state.sync(force=True)

        assert [m.uid for m in state.snapshot.messages] == [1, 3]


def test_expunging_twice_says_the_second_time_there_was_nothing(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    with opened(tmp_path) as state:
        assert len(state.expunge({1}, False)) == 1
        assert state.expunge({1}, False) == []
        assert state.snapshot.messages == ()


def test_claiming_a_recent_message_keeps_its_name_and_adds_an_empty_info(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    with opened(tmp_path) as state:
        assert state.claim_recent(1, 1) == [1]
        (moved,) = state.snapshot.messages

        assert moved.path == tmp_path / "cur" / f"{path.name}:2,"
        assert not moved.recent
        state.sync(force=True)
        assert state.snapshot.messages == (moved,)


def test_setting_flags_renames_the_file_with_sorted_letters(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    with opened(tmp_path) as state:
        (changed,), _ = state.store_flags(
            [1], "set", ["\\Seen", "\\Answered", "Work", "$Label1"], None
        )

        # Keywords get letters in sorted order of first use: $Label1 → a, Work → b.
        assert changed.path == tmp_path / "cur" / f"{path.name}:2,RSab"
        assert (tmp_path / "dovecot-keywords").read_bytes() == b"0 $Label1\n1 Work\n"
        state.sync(force=True)
        assert state.snapshot.messages == (changed,)
        assert changed.flags == {"\\Seen", "\\Answered", "Work", "$Label1"}


def test_the_passed_letter_survives_a_flag_change(dovecot_maildir: Path) -> None:
    with opened(dovecot_maildir) as state:
        message = state.snapshot.messages[0]
        passed = message.path.with_name(message.path.name + "P")  # ":2,SaP" is not sorted, fine
        message.path.rename(passed)
        state.sync(force=True)

        (changed,), _ = state.store_flags([1], "set", ["\\Deleted", "$Forwarded"], None)

    assert changed.path.name.endswith(":2,PTa")
    assert changed.flags == {"\\Deleted", "$Forwarded"}


def test_a_rebuilt_index_keeps_only_the_messages_in_new_recent(tmp_path: Path) -> None:
    # The index is a cache: losing it must not make every message recent again.
    maildir = Maildir(tmp_path, hostname="h")
    maildir.deliver(io.BytesIO(b"one\n"))
    maildir.deliver(io.BytesIO(b"two\n"))
    with opened(tmp_path) as state:
        state.store_flags([1], "set", ["\\Seen"], None)  # into cur/, and still recent
        assert state.recent_uids(1, 2) == [1, 2]
    (tmp_path / FILE_NAME).unlink()

    with opened(tmp_path) as state:
        assert state.recent_uids(1, 2) == [2]
        assert state.claim_recent(1, 2) == [2]
        assert state.recent_uids(1, 2) == []


def test_a_flag_change_follows_a_file_another_process_renamed(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    with opened(tmp_path) as state:
        path.rename(tmp_path / "cur" / f"{path.name}:2,F")  # "another process"

        (changed,), _ = state.store_flags([1], "set", ["\\Seen"], None)

        assert changed.path.name.endswith(":2,S")
        state.sync(force=True)
        assert state.snapshot.messages == (changed,)


def test_a_flag_change_on_a_message_whose_file_is_gone_expunges_it(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    with opened(tmp_path) as state:
        path.unlink()

        changed, failed = state.store_flags([1], "set", ["\\Seen"], None)

        assert changed == [] and failed == []
        assert state.snapshot.messages == ()


def test_a_27th_keyword_on_a_message_is_refused(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    add_keywords(tmp_path, {f"k{index}" for index in range(26)})
    with opened(tmp_path) as state, pytest.raises(TooManyKeywords):
        state.store_flags([1], "add", ["extra"], None)


def test_names_that_cannot_be_messages_are_skipped(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").create()
    for name in (".hidden", "line\nbreak", ":2,S"):
        (tmp_path / "cur" / name).write_bytes(b"x")
    (tmp_path / "cur" / "1700000000.ok:2,S").write_bytes(b"xyz")

    with opened(tmp_path) as state:
        (message,) = state.snapshot.messages

    assert message.base_name == "1700000000.ok"
    assert message.stored_size == 3  # no ,S= in the name: stat()
    assert message.size == 3  # no ,W= either: counted in the file


def test_a_broken_uidlist_is_rebuilt_as_dovecot_does(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    (tmp_path / "dovecot-uidlist").write_bytes(b"garbage\n")

    with opened(tmp_path) as state:
        (message,) = state.snapshot.messages

    assert message.uid == 1
    uidlist = read_uidlist(tmp_path)
    assert uidlist is not None and uidlist.uid_of(message.base_name) == 1


def test_two_numberings_at_once_never_split_or_share_a_uid(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    for index in range(30):
        maildir.deliver(io.BytesIO(b"message %d\n" % index))
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def number() -> None:
        uids = FolderUids(tmp_path, lock_wait=5.0)
        barrier.wait()
        for round_ in range(5):
            maildir.deliver(io.BytesIO(b"more %d\n" % round_))
            uidlist = uids.number_all()
            results.append({r.name: r.uid for r in uidlist.records})

    threads = [threading.Thread(target=number) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final_list = FolderUids(tmp_path, lock_wait=5.0).number_all()
    final = {r.name: r.uid for r in final_list.records}
    assert len(final) == 40
    assert sorted(final.values()) == list(range(1, 41))  # one UID per file, none shared
    for seen in results:
        assert all(final[name] == uid for name, uid in seen.items())


def test_a_broken_keywords_file_hides_keywords_but_is_never_overwritten(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    (tmp_path / "dovecot-keywords").write_bytes(b"not a keywords file\n")
    with opened(tmp_path) as state:
        (seen,), _ = state.store_flags([1], "set", ["\\Seen"], None)
        with pytest.raises(KeywordsError, match="line 1"):
            state.store_flags([1], "set", ["\\Seen", "Work"], None)

    assert seen.flags == {"\\Seen"}
    assert (tmp_path / "dovecot-keywords").read_bytes() == b"not a keywords file\n"


def test_a_large_removal_unlinks_every_file_in_order_and_reports_the_ones_gone(
    tmp_path: Path,
) -> None:
    # Enough messages that the files are unlinked by several threads (file_changes.py);
    # half are claimed into cur/, so both directories are in play.
    count = UNLINK_IN_THREADS_FROM * 2 + 7
    maildir = Maildir(tmp_path, hostname="h")
    for number in range(count):
        maildir.deliver(io.BytesIO(b"message %d\n" % number))
    with opened(tmp_path) as state:
        state.claim_recent(1, count // 2)
        messages = list(state.snapshot.messages)
        vanished = {messages[5].uid, messages[count // 2 + 3].uid, messages[-1].uid}
        for message in messages:
            if message.uid in vanished:
                message.path.unlink()

        removed, gone = unlink_messages(tmp_path, messages)

        assert [m.uid for m in removed] == [m.uid for m in messages if m.uid not in vanished]
        assert gone == [m.uid for m in messages if m.uid in vanished]
        assert list((tmp_path / "new").iterdir()) == []
        assert list((tmp_path / "cur").iterdir()) == []


def test_a_large_expunge_removes_every_message_and_skips_the_ones_already_gone(
    tmp_path: Path,
) -> None:
    count = UNLINK_IN_THREADS_FROM + 10
    maildir = Maildir(tmp_path, hostname="h")
    paths = [maildir.deliver(io.BytesIO(b"message %d\n" % n)) for n in range(count)]
    with opened(tmp_path) as state:
        paths[0].unlink()  # removed by another program meanwhile

        expunged = state.expunge(set(range(1, count + 1)), False)

        assert [m.uid for m in expunged] == list(range(2, count + 1))
        assert state.snapshot.messages == ()
        assert list((tmp_path / "new").iterdir()) == []
