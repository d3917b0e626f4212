"""Reading a Maildir folder as Dovecot does: messages in UID order, flags from
file names, new files numbered in the shared `dovecot-uidlist`. The fixture
Maildir under fixtures/dovecot-2.3/ was written by Dovecot 2.3.19.1."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path

import pytest

from mailroom.store import Maildir
from mailroom.store.folder import MaildirFolder, MessageGone
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


def test_dovecots_maildir_is_served_with_dovecots_uids_and_flags(dovecot_maildir: Path) -> None:
    messages = MaildirFolder(dovecot_maildir).scan()

    # UID 3 was expunged by Dovecot; its record is still in the uidlist.
    assert [m.uid for m in messages] == [1, 2, 4, 5, 6]
    first, second, fourth, _, sixth = messages
    assert first.flags == {"\\Seen"} and first.keywords == {"$Forwarded"}
    assert second.flags == {"\\Flagged", "\\Answered"}
    assert second.keywords == {"Junk", "NonJunk"}
    assert fourth.flags == set() and fourth.keywords == set()
    assert (first.size, first.virtual_size) == (40, 44)
    assert sixth.recent and sixth.path.parent.name == "new"
    assert not first.recent


def test_scanning_a_fully_numbered_folder_leaves_dovecots_uidlist_untouched(
    dovecot_maildir: Path,
) -> None:
    before = (dovecot_maildir / "dovecot-uidlist").read_bytes()

    MaildirFolder(dovecot_maildir).scan()

    assert (dovecot_maildir / "dovecot-uidlist").read_bytes() == before


def test_a_folder_below_the_inbox_keeps_its_own_uids(dovecot_maildir: Path) -> None:
    (message,) = MaildirFolder(dovecot_maildir / ".Entw&APw-rfe").scan()

    assert message.uid == 1
    assert message.size == 42


def test_a_delivered_message_appears_with_the_next_uid_its_size_and_no_flags(
    dovecot_maildir: Path,
) -> None:
    Maildir(dovecot_maildir, hostname="mx.example.org").deliver(io.BytesIO(MESSAGE))

    messages = MaildirFolder(dovecot_maildir).scan()

    delivered = messages[-1]
    assert delivered.uid == 7  # after Dovecot's 6, though its header said N1
    assert delivered.size == len(MESSAGE.replace(b"\r\n", b"\n"))
    assert delivered.virtual_size == len(MESSAGE)
    assert delivered.flags == set() and delivered.keywords == set()
    assert delivered.recent
    # The expunged UID 3 is dropped from the rewritten list, never reused.
    uidlist = read_uidlist(dovecot_maildir)
    assert uidlist is not None
    assert [r.uid for r in uidlist.records] == [1, 2, 4, 5, 6, 7]
    assert uidlist.next_uid == 8
    assert uidlist.uidvalidity == 1795616411


def test_an_empty_new_folder_gets_a_uidlist_on_first_scan(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").create()
    folder = MaildirFolder(tmp_path)

    assert folder.scan() == []
    uidlist = read_uidlist(tmp_path)
    assert uidlist is not None and uidlist.next_uid == 1
    assert folder.uidvalidity == uidlist.uidvalidity


def test_messages_keep_their_uids_across_scans_and_new_ones_follow(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    folder = MaildirFolder(tmp_path)
    maildir.deliver(io.BytesIO(b"one\n"))
    maildir.deliver(io.BytesIO(b"two\n"))
    first = folder.scan()

    maildir.deliver(io.BytesIO(b"three\n"))
    second = folder.scan()

    assert [(m.uid, m.base_name) for m in second[:2]] == [(m.uid, m.base_name) for m in first]
    assert [m.uid for m in second] == [1, 2, 3]


def test_an_expunged_uid_is_never_given_again(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    folder = MaildirFolder(tmp_path)
    maildir.deliver(io.BytesIO(b"one\n"))
    maildir.deliver(io.BytesIO(b"two\n"))
    assert folder.expunge(folder.scan()[-1])

    maildir.deliver(io.BytesIO(b"three\n"))

    assert [m.uid for m in folder.scan()] == [1, 3]


def test_expunging_twice_says_the_second_time_there_was_nothing(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    folder = MaildirFolder(tmp_path)
    (message,) = folder.scan()

    assert folder.expunge(message)
    assert not folder.expunge(message)
    assert folder.scan() == []


def test_move_to_cur_keeps_the_name_and_adds_an_empty_info(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    folder = MaildirFolder(tmp_path)

    moved = folder.move_to_cur(folder.scan()[0])

    assert moved.path == tmp_path / "cur" / f"{path.name}:2,"
    assert not moved.recent
    assert folder.scan() == [moved]


def test_setting_flags_renames_the_file_with_sorted_letters(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    folder = MaildirFolder(tmp_path)

    changed = folder.set_flags(folder.scan()[0], {"\\Seen", "\\Answered"}, {"Work", "$Label1"})

    # Keywords get letters in sorted order of first use: $Label1 → a, Work → b.
    assert changed.path == tmp_path / "cur" / f"{path.name}:2,RSab"
    assert (tmp_path / "dovecot-keywords").read_bytes() == b"0 $Label1\n1 Work\n"
    assert folder.scan() == [changed]
    assert changed.flags == {"\\Seen", "\\Answered"}
    assert changed.keywords == {"Work", "$Label1"}


def test_the_passed_letter_survives_a_flag_change(dovecot_maildir: Path) -> None:
    folder = MaildirFolder(dovecot_maildir)
    message = folder.scan()[0]
    passed = message.path.with_name(message.path.name + "P")  # ":2,SaP" is not sorted, fine
    message.path.rename(passed)
    message = folder.scan()[0]

    changed = folder.set_flags(message, {"\\Deleted"}, {"$Forwarded"})

    assert changed.path.name.endswith(":2,PTa")
    assert changed.flags == {"\\Deleted"}


def test_set_flags_follows_a_file_another_process_renamed(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    folder = MaildirFolder(tmp_path)
    stale = folder.scan()[0]
    folder.set_flags(stale, {"\\Flagged"})  # "another process"

    changed = folder.set_flags(stale, {"\\Seen"})

    assert changed.path.name.endswith(":2,S")
    assert folder.scan() == [changed]


def test_set_flags_on_an_expunged_message_says_it_is_gone(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    folder = MaildirFolder(tmp_path)
    (message,) = folder.scan()
    message.path.unlink()

    with pytest.raises(MessageGone) as gone:
        folder.set_flags(message, {"\\Seen"})
    assert gone.value.uid == 1


def test_a_27th_keyword_on_a_message_is_refused(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    add_keywords(tmp_path, {f"k{index}" for index in range(26)})
    folder = MaildirFolder(tmp_path)

    with pytest.raises(TooManyKeywords):
        folder.set_flags(folder.scan()[0], set(), {"extra"})


def test_names_that_cannot_be_messages_are_skipped(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").create()
    for name in (".hidden", "line\nbreak", ":2,S"):
        (tmp_path / "cur" / name).write_bytes(b"x")
    (tmp_path / "cur" / "1700000000.ok:2,S").write_bytes(b"xyz")

    (message,) = MaildirFolder(tmp_path).scan()

    assert message.base_name == "1700000000.ok"
    assert message.size == 3  # no ,S= in the name: stat()
    assert message.virtual_size is None


def test_a_broken_uidlist_is_rebuilt_as_dovecot_does(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    (tmp_path / "dovecot-uidlist").write_bytes(b"garbage\n")

    (message,) = MaildirFolder(tmp_path).scan()

    assert message.uid == 1
    uidlist = read_uidlist(tmp_path)
    assert uidlist is not None and uidlist.uid_of(message.base_name) == 1


def test_two_scanners_at_once_never_split_or_share_a_uid(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    for index in range(30):
        maildir.deliver(io.BytesIO(b"message %d\n" % index))
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def scan() -> None:
        folder = MaildirFolder(tmp_path)
        barrier.wait()
        for round_ in range(5):
            maildir.deliver(io.BytesIO(b"more %d\n" % round_))
            results.append({m.base_name: m.uid for m in folder.scan()})

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = {m.base_name: m.uid for m in MaildirFolder(tmp_path).scan()}
    assert len(final) == 40
    assert sorted(final.values()) == list(range(1, 41))  # one UID per file, none shared
    for seen in results:
        assert all(final[name] == uid for name, uid in seen.items())


def test_a_broken_keywords_file_hides_keywords_but_is_never_overwritten(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"one\n"))
    (tmp_path / "dovecot-keywords").write_bytes(b"not a keywords file\n")
    folder = MaildirFolder(tmp_path)
    (message,) = folder.scan()

    seen = folder.set_flags(message, {"\\Seen"})
    with pytest.raises(KeywordsError, match="line 1"):
        folder.set_flags(seen, {"\\Seen"}, {"Work"})

    assert seen.flags == {"\\Seen"} and seen.keywords == set()
    assert (tmp_path / "dovecot-keywords").read_bytes() == b"not a keywords file\n"
