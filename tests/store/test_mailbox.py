"""A folder as IMAP sessions use it: append, read, flags, copy, move, expunge, \\Recent,
quota and search, on real Maildir files in a temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailroom.store import (
    Account,
    FlagError,
    Mailbox,
    MailboxDeleted,
    MailboxEvents,
    MailStore,
    QuotaExceeded,
    TooManyKeywords,
)
from tests.support.search_text import text_of

MESSAGE = b"From: alice@example.org\r\nSubject: Lunch\r\n\r\nSee you at NOON.\r\n"


async def test_an_appended_message_reads_back_with_crlf_and_is_stored_with_lf(
    inbox: Mailbox,
) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen"])

    assert await inbox.read(message.uid) == MESSAGE
    assert message.path.read_bytes() == MESSAGE.replace(b"\r\n", b"\n")
    assert message.size == len(MESSAGE)
    assert message.stored_size == len(MESSAGE) - MESSAGE.count(b"\n")
    assert f",S={message.stored_size},W={message.size}:2,S" in message.path.name


async def test_append_with_flags_goes_to_cur_and_without_to_new_as_dovecot_does(
    inbox: Mailbox,
) -> None:
    flagged = await inbox.append(MESSAGE, ["\\Flagged", "\\Seen"])
    plain = await inbox.append(MESSAGE)

    assert flagged.path.parent.name == "cur" and flagged.path.name.endswith(":2,FS")
    assert flagged.flags == {"\\Flagged", "\\Seen"} and not flagged.recent
    assert plain.path.parent.name == "new" and plain.recent
    assert [m.uid for m in inbox.messages] == [1, 2]
    assert inbox.uidnext == 3


async def test_the_internal_date_is_the_files_mtime(inbox: Mailbox) -> None:
    date = datetime(2024, 2, 29, 12, 30, 5, tzinfo=UTC)

    message = await inbox.append(MESSAGE, internaldate=date)

    assert message.internaldate == date
    assert message.path.stat().st_mtime == date.timestamp()


async def test_recent_messages_are_claimed_by_one_session_only(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE)

    assert await inbox.claim_recent(1, message.uid) == [message.uid]
    assert await inbox.claim_recent(1, message.uid) == []
    claimed = inbox.find(message.uid)
    assert claimed is not None and not claimed.recent
    assert claimed.path.parent.name == "cur" and claimed.path.name.endswith(":2,")


async def test_a_message_added_with_flags_is_recent_until_claimed(inbox: Mailbox) -> None:
    # As Dovecot: every new UID is recent, in cur/ as well as in new/ (RFC 3501 §2.3.2).
    first = await inbox.append(MESSAGE, ["\\Seen"])
    second = await inbox.append(MESSAGE)
    assert inbox.status().recent == 2
    assert await inbox.recent_uids(1, second.uid) == [first.uid, second.uid]
    assert inbox.status().recent == 2  # looking claims nothing

    assert await inbox.claim_recent(1, first.uid) == [first.uid]
    assert await inbox.recent_uids(1, second.uid) == [second.uid]
    assert await inbox.claim_recent(1, second.uid) == [second.uid]
    assert inbox.status().recent == 0
    assert await inbox.claim_recent(1, second.uid) == []


async def test_storing_flags_renames_the_file_and_gives_a_new_modseq(inbox: Mailbox) -> None:
    first = await inbox.append(MESSAGE, ["\\Seen"])
    second = await inbox.append(MESSAGE, ["\\Seen"])

    changed, failed = await inbox.store_flags([first.uid], "add", ["\\Answered", "$Label1"])

    assert failed == []
    (updated,) = changed
    assert updated.flags == {"\\Seen", "\\Answered", "$Label1"}
    assert updated.modseq > first.modseq == second.modseq - 1
    assert updated.path.name.endswith(":2,RSa")
    assert inbox.highestmodseq == updated.modseq
    assert inbox.keywords == ("$Label1",)
    unchanged = inbox.find(second.uid)
    assert unchanged is not None and unchanged.modseq == second.modseq


async def test_flags_can_be_set_and_removed_and_recent_is_ignored(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen", "\\Draft"])

    await inbox.store_flags([message.uid], "remove", ["\\DRAFT", "\\Recent"])
    after_remove = inbox.find(message.uid)
    await inbox.store_flags([message.uid], "set", ["\\Flagged"])
    after_set = inbox.find(message.uid)

    assert after_remove is not None and after_remove.flags == {"\\Seen"}
    assert after_set is not None and after_set.flags == {"\\Flagged"}


async def test_storing_the_flags_a_message_has_changes_nothing(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen"])

    changed, _ = await inbox.store_flags([message.uid], "add", ["\\Seen"])

    assert changed == []
    assert inbox.highestmodseq == message.modseq


async def test_unchangedsince_refuses_messages_modified_after_it(inbox: Mailbox) -> None:
    old = await inbox.append(MESSAGE)
    newer = await inbox.append(MESSAGE)

    changed, failed = await inbox.store_flags(
        [old.uid, newer.uid], "add", ["\\Seen"], unchangedsince=old.modseq
    )

    assert [m.uid for m in changed] == [old.uid]
    assert failed == [newer.uid]


async def test_an_unknown_system_flag_is_refused(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE)

    with pytest.raises(FlagError):
        await inbox.store_flags([message.uid], "add", ["\\Important"])
    with pytest.raises(FlagError):
        await inbox.append(MESSAGE, ["bad(keyword"])


async def test_a_27th_keyword_is_refused_and_nothing_changes(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE)
    await inbox.store_flags([message.uid], "add", [f"k{n}" for n in range(26)])
    before = inbox.find(message.uid)

    with pytest.raises(TooManyKeywords):
        await inbox.store_flags([message.uid], "add", ["one-too-many"])

    assert inbox.find(message.uid) == before
    assert not inbox.can_create_keywords


async def test_copy_hard_links_keeps_flags_and_reports_uid_pairs(account: Account) -> None:
    inbox = await account.open("INBOX")
    archive = await account.open("Archive")
    await archive.append(MESSAGE)  # UID 1 in Archive is taken
    first = await inbox.append(MESSAGE, ["\\Seen", "Work"])
    second = await inbox.append(MESSAGE, ["\\Flagged"])

    pairs = await inbox.copy([second.uid, first.uid, 99], archive)

    assert pairs == [(first.uid, 2), (second.uid, 3)]
    copy = archive.find(2)
    assert copy is not None and copy.flags == {"\\Seen", "Work"}
    assert copy.path.stat().st_ino == first.path.stat().st_ino
    assert await archive.read(2) == MESSAGE
    assert inbox.find(first.uid) is not None  # the original stays
    await inbox.close()
    await archive.close()


async def test_a_copy_takes_the_cached_values_and_search_text_along(account: Account) -> None:
    inbox = await account.open("INBOX")
    archive = await account.open("Archive")
    message = await inbox.append(MESSAGE)
    assert await inbox.cached(message.uid, "envelope", lambda data: b"computed once") == (
        b"computed once"
    )
    assert await inbox.search_text("noon", [message.uid]) == {message.uid}

    ((_, copy_uid),) = await inbox.move([message.uid], archive)

    def never(data: bytes) -> bytes:
        raise AssertionError("the copy's envelope was computed again")

    assert await archive.cached(copy_uid, "envelope", never) == b"computed once"
    assert await archive.cached_many([copy_uid], "envelope", never) == {copy_uid: b"computed once"}
    assert await archive.search_text("noon", [copy_uid]) == {copy_uid}
    await inbox.close()
    await archive.close()


async def test_move_expunges_the_originals_and_records_them_as_vanished(
    account: Account,
) -> None:
    inbox = await account.open("INBOX")
    trash = await account.open("Trash")
    message = await inbox.append(MESSAGE, ["\\Seen"])
    before = inbox.highestmodseq

    pairs = await inbox.move([message.uid], trash)

    assert pairs == [(message.uid, 1)]
    assert inbox.messages == ()
    assert not message.path.exists()
    assert inbox.vanished_since(before) == [message.uid]
    assert inbox.highestmodseq > before
    moved = trash.find(1)
    assert moved is not None and moved.flags == {"\\Seen"}
    await inbox.close()
    await trash.close()


async def test_move_renames_each_file_into_the_target(account: Account) -> None:
    inbox = await account.open("INBOX")
    trash = await account.open("Trash")
    fresh = await inbox.append(MESSAGE)  # in new/
    seen = await inbox.append(MESSAGE, ["\\Seen", "Work"])  # in cur/
    inodes = {m.uid: m.path.stat().st_ino for m in (fresh, seen)}

    pairs = await inbox.move([fresh.uid, seen.uid], trash)

    assert [source for source, _ in pairs] == [fresh.uid, seen.uid]
    for source, target in pairs:
        moved = trash.find(target)
        assert moved is not None
        # The same file, renamed: not a link to it, nor a copy.
        assert moved.path.stat().st_ino == inodes[source]
        assert moved.path.stat().st_nlink == 1
        assert await trash.read(target) == MESSAGE
    assert trash.find(pairs[1][1]).flags == {"\\Seen", "Work"}  # type: ignore[union-attr]
    assert os.listdir(inbox.path / "cur") + os.listdir(inbox.path / "new") == []
    assert inbox.messages == ()
    assert inbox.vanished_since(0) == [fresh.uid, seen.uid]
    await inbox.close()
    await trash.close()


async def test_expunge_removes_only_deleted_messages(inbox: Mailbox) -> None:
    keep = await inbox.append(MESSAGE, ["\\Deleted"])
    drop = await inbox.append(MESSAGE, ["\\Deleted", "\\Seen"])
    plain = await inbox.append(MESSAGE, ["\\Seen"])

    assert await inbox.expunge([drop.uid, plain.uid]) == [drop.uid]
    assert [m.uid for m in inbox.messages] == [keep.uid, plain.uid]
    assert await inbox.expunge() == [keep.uid]
    assert inbox.vanished_since(0) == [keep.uid, drop.uid]


async def test_an_expunged_uid_is_never_given_again(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE, ["\\Deleted"])
    await inbox.expunge()

    again = await inbox.append(MESSAGE)

    assert again.uid == message.uid + 1


async def test_two_sessions_share_one_mailbox_and_see_each_others_changes(
    account: Account,
) -> None:
    first = await account.open("INBOX")
    second = await account.open("inbox")
    assert first is second

    message = await first.append(MESSAGE)
    await first.close()

    assert second.find(message.uid) is not None
    await second.close()


async def test_a_file_dropped_into_new_by_hand_is_noticed_by_sync(inbox: Mailbox) -> None:
    assert not await inbox.sync()
    (inbox.path / "new" / "1700000000.hand.made").write_bytes(b"Subject: x\n\nhi\n")

    assert await inbox.sync()

    (message,) = inbox.messages
    assert message.recent and message.flags == frozenset()
    assert message.size == len(b"Subject: x\r\n\r\nhi\r\n")
    assert message.stored_size == len(b"Subject: x\n\nhi\n")
    assert await inbox.read(message.uid) == b"Subject: x\r\n\r\nhi\r\n"


async def test_a_flag_changed_by_renaming_the_file_by_hand_gets_a_new_modseq(
    inbox: Mailbox,
) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen"])
    os.rename(message.path, message.path.with_name(message.base_name + ":2,FS"))

    assert await inbox.sync()

    changed = inbox.find(message.uid)
    assert changed is not None and changed.flags == {"\\Seen", "\\Flagged"}
    assert changed.modseq > message.modseq
    assert inbox.changed_since(message.modseq) == [changed]


async def test_a_file_deleted_by_hand_is_an_expunge_with_a_modseq(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen"])
    message.path.unlink()

    assert await inbox.sync()

    assert inbox.messages == ()
    assert inbox.vanished_since(message.modseq) == [message.uid]


async def test_a_message_renamed_by_another_process_can_still_be_flagged_and_read(
    inbox: Mailbox,
) -> None:
    message = await inbox.append(MESSAGE, ["\\Seen"])
    os.rename(message.path, message.path.with_name(message.base_name + ":2,RS"))

    changed, _ = await inbox.store_flags([message.uid], "add", ["\\Flagged"])

    assert [m.flags for m in changed] == [{"\\Seen", "\\Answered", "\\Flagged"}]
    assert await inbox.read(message.uid) == MESSAGE


async def test_append_over_the_quota_is_refused_before_anything_is_written(
    store: MailStore, tmp_path: Path
) -> None:
    account = store.account(tmp_path / "Maildir", quota_bytes=100)
    await account.ensure_default_folders()
    inbox = await account.open("INBOX")
    await inbox.append(MESSAGE)

    with pytest.raises(QuotaExceeded):
        await inbox.append(MESSAGE)

    assert len(inbox.messages) == 1
    assert os.listdir(inbox.path / "tmp") == []
    used, limit, count = await account.quota()
    assert (used, limit, count) == (inbox.messages[0].stored_size, 100, 1)
    await inbox.close()


async def test_expunge_gives_the_space_back_to_the_quota(store: MailStore, tmp_path: Path) -> None:
    account = store.account(tmp_path / "Maildir", quota_bytes=1000)
    inbox = await account.open("INBOX")
    await inbox.append(MESSAGE, ["\\Deleted"])

    await inbox.expunge()

    assert await account.quota() == (0, 1000, 0)
    await inbox.close()


async def test_full_text_search_finds_substrings_case_insensitively(inbox: Mailbox) -> None:
    lunch = await inbox.append(MESSAGE)
    other = await inbox.append(b"Subject: Report\r\n\r\nQuarterly numbers\r\n")
    uids = [lunch.uid, other.uid]

    assert await inbox.search_text("noon", uids) == {lunch.uid}
    assert await inbox.search_text("ARTERL", uids) == {other.uid}
    assert await inbox.search_text("ub", uids) == {lunch.uid, other.uid}
    assert await inbox.search_text("noon", [other.uid]) == set()
    assert await inbox.search_text('"quoted"', uids) == set()


async def test_cached_values_are_computed_once(inbox: Mailbox) -> None:
    message = await inbox.append(MESSAGE)
    calls: list[bytes] = []

    def envelope(data: bytes) -> bytes:
        calls.append(data)
        return b"(envelope)"

    assert await inbox.cached(message.uid, "envelope", envelope) == b"(envelope)"
    assert await inbox.cached(message.uid, "envelope", envelope) == b"(envelope)"
    assert calls == [MESSAGE]


async def test_status_counts_without_selecting(account: Account) -> None:
    drafts = await account.open("Drafts")
    await drafts.append(MESSAGE, ["\\Seen"])
    await drafts.append(MESSAGE, ["\\Deleted"])
    await drafts.append(MESSAGE)
    await drafts.close()

    status = await account.status("Drafts")

    assert (status.messages, status.unseen, status.deleted, status.recent) == (3, 2, 1, 3)
    assert status.uidnext == 4 and status.size == 3 * len(MESSAGE)
    assert status.highestmodseq > 0 and status.uidvalidity > 0


async def test_a_folder_deleted_while_open_reads_as_empty(account: Account) -> None:
    junk = await account.open("Junk")
    await junk.append(MESSAGE)

    shutil.rmtree(junk.path)

    assert await junk.sync()
    assert junk.messages == ()
    assert junk.deleted
    await junk.close()


async def test_a_closed_mailbox_lingers_so_status_polls_stay_cheap(
    store: MailStore, account: Account
) -> None:
    sent = await account.open("Sent")
    await sent.close()

    assert store.opened(sent.path) is sent
    again = await account.open("Sent")
    assert again is sent
    await again.close()


async def test_a_change_found_by_one_sessions_sync_wakes_the_others(inbox: Mailbox) -> None:
    (inbox.path / "new" / "1700000000.by.hand").write_bytes(b"Subject: x\n\nhi\n")
    async with inbox.watch() as waiter:
        assert await inbox.sync()

        assert waiter.pending


async def test_multiappend_adds_all_messages_with_consecutive_uids(inbox: Mailbox) -> None:
    added = await inbox.append_many([(MESSAGE, ["\\Seen"], None), (MESSAGE, ["Later"], None)])

    assert [(m.uid, m.flags) for m in added] == [(1, {"\\Seen"}), (2, {"Later"})]


async def test_multiappend_adds_nothing_when_one_message_is_refused(inbox: Mailbox) -> None:
    with pytest.raises(FlagError):
        await inbox.append_many([(MESSAGE, ["\\Seen"], None), (MESSAGE, ["\\Bogus"], None)])

    assert inbox.messages == ()
    assert os.listdir(inbox.path / "tmp") == []


async def test_a_file_name_that_is_not_utf8_is_served_and_survives_a_reopen(
    tmp_path: Path,
) -> None:
    store = MailStore(events=MailboxEvents(), search_text=text_of, linger=0)
    account = store.account(tmp_path / "Maildir", quota_bytes=None)
    inbox = await account.open("INBOX")
    name = os.fsdecode(b"1700000000.M1P1.caf\xe9:2,S\xff")
    (inbox.path / "cur" / name).write_bytes(b"Subject: x\n\nhi\n")
    assert await inbox.sync()
    await inbox.close()

    inbox = await account.open("INBOX")

    (message,) = inbox.messages
    assert message.flags == {"\\Seen"} and message.file_name == name
    assert await inbox.read(message.uid) == b"Subject: x\r\n\r\nhi\r\n"
    await store_flags_and_close(inbox)
    await store.close()


async def store_flags_and_close(inbox: Mailbox) -> None:
    (changed,), _ = await inbox.store_flags([1], "add", ["\\Flagged"])
    assert changed.path.exists()
    await inbox.close()


async def test_appending_to_a_deleted_folder_is_refused_and_does_not_recreate_it(
    account: Account,
) -> None:
    junk = await account.open("Junk")
    await account.delete("Junk")

    with pytest.raises(MailboxDeleted):
        await junk.append(MESSAGE)

    assert not junk.path.exists()
    await junk.close()


async def test_sessions_and_another_process_working_at_once_keep_the_state_true(
    inbox: Mailbox,
) -> None:
    for _ in range(20):
        await inbox.append(MESSAGE, ["\\Seen"])

    def other_process_renames() -> None:
        for round_ in range(40):
            for name in os.listdir(inbox.path / "cur"):
                base = name.partition(":")[0]
                letters = "FS" if round_ % 2 else "S"
                with contextlib.suppress(FileNotFoundError):
                    os.rename(inbox.path / "cur" / name, inbox.path / "cur" / f"{base}:2,{letters}")

    async def session(number: int) -> None:
        for round_ in range(10):
            await inbox.store_flags([1 + (number + round_) % 20], "add", ["\\Answered"])
            await inbox.append(MESSAGE)
            await inbox.sync()

    await asyncio.gather(asyncio.to_thread(other_process_renames), *(session(n) for n in range(4)))
    await inbox.sync()

    uids = [m.uid for m in inbox.messages]
    assert uids == sorted(set(uids)) and len(uids) == 60
    on_disk = {
        name.partition(":")[0]: name.partition(":2,")[2]
        for sub in ("cur", "new")
        for name in os.listdir(inbox.path / sub)
    }
    assert {m.base_name: m.info for m in inbox.messages} == on_disk
    modseqs = [m.modseq for m in inbox.messages]
    assert max(modseqs) == inbox.highestmodseq


async def test_texts_of_expunged_messages_leave_the_index_at_the_next_search(
    inbox: Mailbox,
) -> None:
    messages = [await inbox.append(MESSAGE, ["\\Deleted"]) for _ in range(3)]
    keep = await inbox.append(MESSAGE)
    assert await inbox.search_text("noon", [m.uid for m in [*messages, keep]]) == {
        m.uid for m in [*messages, keep]
    }
    await inbox.expunge()

    assert await inbox.search_text("noon", [m.uid for m in messages]) == set()
    with inbox._state.locked_index() as index:
        assert index.texts_missing([m.uid for m in [*messages, keep]]) == [m.uid for m in messages]


async def test_body_only_search_leaves_the_header_out(inbox: Mailbox) -> None:
    lunch = await inbox.append(MESSAGE)

    assert await inbox.search_text("lunch", [lunch.uid]) == {lunch.uid}
    assert await inbox.search_text("lunch", [lunch.uid], body_only=True) == set()
    assert await inbox.search_text("NOON", [lunch.uid], body_only=True) == {lunch.uid}


async def test_a_copy_has_its_text_indexed_before_any_search(account: Account) -> None:
    inbox = await account.open("INBOX")
    archive = await account.open("Archive")
    message = await inbox.append(MESSAGE)
    assert await inbox.search_text("noon", [message.uid]) == {message.uid}

    ((_, copy_uid),) = await inbox.copy([message.uid], archive)
    await archive.settled()  # the texts go along after the COPY has its answer

    with archive._state.locked_index() as index:
        assert index.texts_missing([copy_uid]) == []
        assert index.search("noon", head=False) == {copy_uid}
    await inbox.close()
    await archive.close()


async def test_needles_are_case_folded_like_the_texts(inbox: Mailbox) -> None:
    street = await inbox.append("Subject: x\r\n\r\nStra\u00dfe \u00c9T\u00c9\r\n".encode())

    assert await inbox.search_text("STRASSE", [street.uid], body_only=True) == {street.uid}
    assert await inbox.search_text("\u00e9t\u00e9", [street.uid], body_only=True) == {street.uid}
    assert await inbox.search_text("\u00e9t\u00e9s", [street.uid], body_only=True) == set()
