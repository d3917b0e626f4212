"""`dovecot-uidlist` read and written as Dovecot 2.3 does: the files under
fixtures/dovecot-2.3/ were written by Dovecot 2.3.19.1 itself (dovecot-lda
deliveries and an imap session that set flags and expunged)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailroom.store.folder_uids import FolderUids
from mailroom.store.uidlist import (
    ORPHAN_SECONDS,
    DotLock,
    LockTimeout,
    UidList,
    UidListError,
    UidRecord,
    delivery_order,
    format_uidlist,
    parse_uidlist,
    read_uidlist,
    uidlist_lock,
    write_uidlist,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dovecot-2.3"


def test_dovecots_appended_uidlist_is_read_with_its_uids() -> None:
    uidlist = read_uidlist(FIXTURES / "Maildir")

    assert uidlist is not None
    assert uidlist.uidvalidity == 1795616411
    assert uidlist.guid == "98c6a82b9bee066b4535000083ecc375"
    assert [record.uid for record in uidlist.records] == [1, 2, 3, 4, 5, 6]
    assert uidlist.uid_of("1795616419.M359788P13657.vm,S=43,W=47") == 2
    assert uidlist.uid_of("1795616427.M454329P13700.vm,S=43,W=47") == 6


def test_the_next_uid_follows_the_last_record_when_dovecot_appended_past_its_header() -> None:
    # Dovecot appends records without rewriting "N1" in the header.
    data = (FIXTURES / "Maildir" / "dovecot-uidlist").read_bytes()
    assert data.startswith(b"3 V1795616411 N1 G")

    assert parse_uidlist(data).next_uid == 7


def test_dovecots_rewritten_uidlist_keeps_extension_fields() -> None:
    data = (FIXTURES / "rewritten" / "dovecot-uidlist").read_bytes()
    uidlist = parse_uidlist(data)

    assert uidlist.next_uid == 8
    record = uidlist.record_of("1795616500.P1Q1.other.host")
    assert record == UidRecord(7, "1795616500.P1Q1.other.host", (("W", "18"),))
    assert record.extension("W") == "18"


def test_a_dovecot_written_uidlist_is_written_back_byte_for_byte() -> None:
    data = (FIXTURES / "rewritten" / "dovecot-uidlist").read_bytes()

    assert format_uidlist(parse_uidlist(data)) == data


def test_unknown_header_fields_are_kept() -> None:
    data = b"3 V12 N5 Gabc X42 Zfoo\n4 :one\n"

    assert format_uidlist(parse_uidlist(data)) == data


def test_version_1_is_read_and_written_as_version_3() -> None:
    uidlist = parse_uidlist(b"1 1100000000 9\n3 1100000000.1234_1.host\n8 1100000001.99_2.host\n")

    assert uidlist.uid_of("1100000001.99_2.host") == 8
    assert format_uidlist(uidlist) == (
        b"3 V1100000000 N9\n3 :1100000000.1234_1.host\n8 :1100000001.99_2.host\n"
    )


def test_version_2_records_skip_their_flags_field() -> None:
    uidlist = parse_uidlist(b"2 77 3\n1 0 1100000000.a.host\n")

    assert uidlist.uid_of("1100000000.a.host") == 1


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"", "empty"),
        (b"4 V1 N1\n", "version"),
        (b"3 N1\n", "lacks V"),
        (b"3 V0 N1\n", "out of range"),
        (b"3 V1 N1\n2 :a\n2 :b\n", "not above"),
        (b"3 V1 N1\n1 :a\n2 :a\n", "twice"),
        (b"3 V1 N1\n1 W5\n", "filename"),
        (b"3 V1 N1\nx :a\n", "not a number"),
        (b"3 V1 N1\n1 :\n", "not a Maildir file name"),
    ],
)
def test_a_broken_uidlist_says_what_is_wrong(data: bytes, complaint: str) -> None:
    with pytest.raises(UidListError, match=complaint):
        parse_uidlist(data)


def test_file_names_with_spaces_and_odd_bytes_round_trip() -> None:
    name = os.fsdecode(b"1700000000.M1P2.host with space\xff\r")
    uidlist = UidList(1, 1)
    uidlist.assign([name])

    assert parse_uidlist(format_uidlist(uidlist)).uid_of(name) == 1


def test_new_files_get_increasing_uids_in_dovecots_time_order() -> None:
    uidlist = parse_uidlist(b"3 V5 N3\n2 :999999999.M1P1.h\n")

    added = uidlist.assign(["1000000000.M5P1.h", "999999999.M2P1.h", "999999999.M1P1.h"])

    # Numeric time order, not string order: 999999999 < 1000000000.
    assert [(r.uid, r.name) for r in added] == [(3, "999999999.M2P1.h"), (4, "1000000000.M5P1.h")]
    assert uidlist.next_uid == 5


def test_microseconds_order_messages_of_the_same_second() -> None:
    names = ["1700000000.M900P1.h", "1700000000.M1000P1.h", "1700000000.M20P1.h"]

    assert sorted(names, key=delivery_order) == [names[2], names[0], names[1]]


def test_expunged_uids_are_never_given_again() -> None:
    uidlist = UidList(5, 1)
    uidlist.assign(["1.a", "2.b", "3.c"])

    uidlist.retain({"1.a"})
    added = uidlist.assign(["2.b", "4.d"])

    assert [r.uid for r in added] == [4, 5]
    reread = parse_uidlist(format_uidlist(uidlist))
    assert reread.next_uid == 6
    assert [r.uid for r in reread.records] == [1, 4, 5]


def test_a_new_uidlist_takes_its_uidvalidity_from_the_clock() -> None:
    before = int(time.time())
    uidlist = UidList.create()

    # The clock, or one more than the last one this process gave out (a folder made
    # again within the same second must not reuse a UIDVALIDITY).
    assert before <= uidlist.uidvalidity
    assert UidList.create().uidvalidity > uidlist.uidvalidity
    assert uidlist.next_uid == 1
    assert uidlist.guid is not None and len(uidlist.guid) == 32


def test_writing_replaces_the_file_and_leaves_no_lock(tmp_path: Path) -> None:
    uidlist = UidList(7, 1, (("G", "00" * 16),))
    uidlist.assign(["1700000000.M1P1.h,S=3"])

    with uidlist_lock(tmp_path) as lock:
        assert (tmp_path / "dovecot-uidlist.lock").exists()
        write_uidlist(lock, uidlist)

    assert (tmp_path / "dovecot-uidlist").read_bytes() == (
        b"3 V7 N2 G00000000000000000000000000000000\n1 :1700000000.M1P1.h,S=3\n"
    )
    assert not (tmp_path / "dovecot-uidlist.lock").exists()


def test_leaving_the_lock_unwritten_removes_it(tmp_path: Path) -> None:
    with uidlist_lock(tmp_path):
        pass

    assert list(tmp_path.iterdir()) == []


def test_a_fresh_lock_held_by_another_process_makes_us_wait_then_give_up(tmp_path: Path) -> None:
    (tmp_path / "dovecot-uidlist.lock").write_bytes(b"")

    with pytest.raises(LockTimeout, match=r"dovecot-uidlist\.lock"):
        uidlist_lock(tmp_path, wait=0.05).acquire()

    assert (tmp_path / "dovecot-uidlist.lock").exists()


def test_a_stale_lock_is_broken_as_dovecot_does(tmp_path: Path) -> None:
    lock_file = tmp_path / "dovecot-uidlist.lock"
    lock_file.write_bytes(b"")
    three_minutes_ago = time.time() - 180
    os.utime(lock_file, (three_minutes_ago, three_minutes_ago))

    with DotLock(tmp_path / "dovecot-uidlist", wait=1) as lock:
        lock.replace(b"3 V1 N1\n")

    assert read_uidlist(tmp_path) == UidList(1, 1)


def test_a_lock_left_by_a_dead_process_is_broken_soon(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    lock_file = tmp_path / "dovecot-uidlist.lock"
    lock_file.write_bytes(b"half-written by a process killed with SIGKILL")
    old = time.time() - ORPHAN_SECONDS - 1
    os.utime(lock_file, (old, old))

    with DotLock(target, wait=1.0) as lock:
        lock.replace(b"3 V1 N1\n")

    assert target.read_bytes() == b"3 V1 N1\n"


def test_a_held_lock_is_never_broken_however_old(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    with DotLock(target) as holder:
        old = time.time() - ORPHAN_SECONDS - 1
        os.utime(holder.path, (old, old))
        with pytest.raises(LockTimeout):
            DotLock(target, wait=0.3).acquire()


def test_an_unterminated_last_record_is_not_read_as_dovecot_does() -> None:
    # A record being appended (or torn by a crash) is not taken as a UID for a cut name.
    uidlist = parse_uidlist(b"3 V1 N1\n1 :1700000000.M1P1.h\n2 :1700000000.M2")

    assert [record.uid for record in uidlist.records] == [1]
    assert uidlist.next_uid == 2


def _listed_folder(tmp_path: Path) -> FolderUids:
    for name in ("new", "cur", "tmp"):
        (tmp_path / name).mkdir()
    (tmp_path / "cur" / "1700000000.M1P1.h:2,").write_bytes(b"a")
    uids = FolderUids(tmp_path, lock_wait=1.0)
    uids.number_all()
    return uids


def test_new_messages_are_appended_to_the_uidlist_as_dovecot_does(tmp_path: Path) -> None:
    uids = _listed_folder(tmp_path)
    before = (tmp_path / "dovecot-uidlist").read_bytes()
    inode = (tmp_path / "dovecot-uidlist").stat().st_ino

    uids.number_new(["1700000001.M2P1.h", "1700000002.M3P1.h"])

    assert (tmp_path / "dovecot-uidlist").stat().st_ino == inode  # not replaced
    assert (tmp_path / "dovecot-uidlist").read_bytes() == (
        before + b"2 :1700000001.M2P1.h\n3 :1700000002.M3P1.h\n"
    )
    assert not (tmp_path / "dovecot-uidlist.lock").exists()
    assert read_uidlist(tmp_path).next_uid == 4  # type: ignore[union-attr]


def test_a_torn_append_is_dropped_and_the_uidlist_rewritten(tmp_path: Path) -> None:
    uids = _listed_folder(tmp_path)
    with (tmp_path / "dovecot-uidlist").open("ab") as file:
        file.write(b"2 :1700000001.M")  # a crash in the middle of an append

    assert uids.number_new(["1700000003.M4P1.h"]).uid_of("1700000003.M4P1.h") == 2

    text = (tmp_path / "dovecot-uidlist").read_bytes()
    assert text.endswith(b"\n1 :1700000000.M1P1.h\n2 :1700000003.M4P1.h\n")
    assert b"M1P1.h\n2 :1700000001.M" not in text


def test_records_another_process_appends_are_read(tmp_path: Path) -> None:
    uids = _listed_folder(tmp_path)
    assert uids.read() is not None
    with (tmp_path / "dovecot-uidlist").open("ab") as file:  # Dovecot delivering
        file.write(b"2 :1700000001.M2P1.h\n3 W7 :1700000002.M3P1.h\n")

    uidlist = uids.read()

    assert uidlist is not None
    assert [(r.uid, r.name) for r in uidlist.records] == [
        (1, "1700000000.M1P1.h"),
        (2, "1700000001.M2P1.h"),
        (3, "1700000002.M3P1.h"),
    ]
    assert uidlist.record_of("1700000002.M3P1.h").extensions == (("W", "7"),)  # type: ignore[union-attr]
    assert uidlist.next_uid == 4
    assert uidlist == read_uidlist(tmp_path)


def test_a_record_being_appended_is_read_once_it_is_whole(tmp_path: Path) -> None:
    uids = _listed_folder(tmp_path)
    assert uids.read() is not None
    with (tmp_path / "dovecot-uidlist").open("ab") as file:
        file.write(b"2 :1700000001.M2")
    assert [r.uid for r in uids.read().records] == [1]  # type: ignore[union-attr]
    with (tmp_path / "dovecot-uidlist").open("ab") as file:
        file.write(b"P1.h\n")

    assert uids.read().uid_of("1700000001.M2P1.h") == 2  # type: ignore[union-attr]


def test_a_uidlist_changed_other_than_by_appending_is_read_whole(tmp_path: Path) -> None:
    uids = _listed_folder(tmp_path)
    assert uids.read() is not None
    path = tmp_path / "dovecot-uidlist"
    # The same file written over in place, longer: no line end where the last read ended.
    text = path.read_bytes().replace(b"1 :1700000000.M1P1.h\n", b"5 :1700000000.M1P1.hh\n")
    with path.open("r+b") as file:
        file.write(text)

    uidlist = uids.read()

    assert uidlist is not None
    assert [(r.uid, r.name) for r in uidlist.records] == [(5, "1700000000.M1P1.hh")]


def test_new_messages_in_a_version_1_uidlist_rewrite_it_as_version_3(tmp_path: Path) -> None:
    # Appending version 3 records to a version 1 file would make them unreadable
    # (a version 1 record is '<uid> <filename>').
    for name in ("new", "cur", "tmp"):
        (tmp_path / name).mkdir()
    (tmp_path / "cur" / "1700000000.M1P1.h:2,").write_bytes(b"a")
    (tmp_path / "dovecot-uidlist").write_bytes(b"1 1700000000 2\n1 1700000000.M1P1.h\n")
    uids = FolderUids(tmp_path, lock_wait=1.0)

    uids.number_new(["1700000001.M2P1.h"])

    text = (tmp_path / "dovecot-uidlist").read_bytes()
    assert text.startswith(b"3 V1700000000 N3")
    assert text.endswith(b"\n1 :1700000000.M1P1.h\n2 :1700000001.M2P1.h\n")
    assert [(r.uid, r.name) for r in read_uidlist(tmp_path).records] == [  # type: ignore[union-attr]
        (1, "1700000000.M1P1.h"),
        (2, "1700000001.M2P1.h"),
    ]
