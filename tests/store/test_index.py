"""The SQLite index is a cache: a Maildir Dovecot wrote is served with Dovecot's UIDs,
and a deleted or broken index is rebuilt with the same UIDs and flags, a HIGHESTMODSEQ
that only went up, and a log line for the broken one."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import Account, MailboxEvents, MailStore
from mailroom.store.index import FILE_NAME, SCHEMA_VERSION, MailboxIndex
from mailroom.store.index_rows import IndexRow

FIXTURES = Path(__file__).parent / "fixtures" / "dovecot-2.3"


@pytest.fixture
async def store() -> AsyncIterator[MailStore]:
    # linger=0: a closed mailbox is really closed, so reopening reads the index again.
    mail_store = MailStore(
        events=MailboxEvents(),
        search_text=lambda data: ("", data.decode()),
        hostname="test.host",
        linger=0,
    )
    yield mail_store
    await mail_store.close()


@pytest.fixture
def dovecot_maildir(tmp_path: Path) -> Path:
    root = tmp_path / "Maildir"
    shutil.copytree(FIXTURES / "Maildir", root)
    for folder in (root, root / ".Entw&APw-rfe"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(exist_ok=True)
    return root


@pytest.fixture
def account(store: MailStore, dovecot_maildir: Path) -> Account:
    return store.account(dovecot_maildir, quota_bytes=None)


def described(account_messages: object) -> list[tuple[int, frozenset[str]]]:
    return [(m.uid, m.flags) for m in account_messages]  # type: ignore[attr-defined]


async def test_dovecots_maildir_is_served_with_dovecots_uids_flags_and_sizes(
    account: Account,
) -> None:
    inbox = await account.open("INBOX")

    assert inbox.uidvalidity == 1795616411
    assert described(inbox.messages) == [
        (1, frozenset({"\\Seen", "$Forwarded"})),
        (2, frozenset({"\\Flagged", "\\Answered", "Junk", "NonJunk"})),
        (4, frozenset()),
        (5, frozenset()),
        (6, frozenset()),
    ]
    assert [m.size for m in inbox.messages] == [44, 47, 47, 47, 47]
    assert [m.recent for m in inbox.messages] == [False, False, False, False, True]
    assert inbox.uidnext == 7
    assert inbox.keywords == ("$Forwarded", "Junk", "NonJunk", "$Label1")
    await inbox.close()


async def test_dovecots_utf7_folder_opens_by_its_unicode_name(account: Account) -> None:
    drafts = await account.open("Entwürfe")

    assert [m.uid for m in drafts.messages] == [1]
    await drafts.close()


async def test_the_index_is_a_file_of_the_folder_without_a_leading_dot(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    await inbox.close()

    assert (dovecot_maildir / FILE_NAME).is_file()
    assert [f.name for f in await account.folders()] == ["INBOX", "Entwürfe"]


async def test_a_deleted_index_is_rebuilt_with_the_same_uids_and_a_higher_modseq(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    await inbox.store_flags([4], "add", ["\\Seen", "$Label1"])
    before = described(inbox.messages)
    highest = inbox.highestmodseq
    await inbox.close()

    for name in (FILE_NAME, FILE_NAME + "-wal", FILE_NAME + "-shm"):
        (dovecot_maildir / name).unlink(missing_ok=True)
    inbox = await account.open("INBOX")

    assert described(inbox.messages) == before
    assert inbox.highestmodseq > highest
    assert all(m.modseq > highest for m in inbox.messages)
    await inbox.close()


async def test_the_index_survives_a_reopen_with_modseqs_and_vanished_uids(
    account: Account,
) -> None:
    inbox = await account.open("INBOX")
    await inbox.store_flags([5], "add", ["\\Deleted"])
    before_expunge = inbox.highestmodseq
    await inbox.expunge()
    snapshot = [(m.uid, m.modseq) for m in inbox.messages]
    highest = inbox.highestmodseq
    await inbox.close()

    inbox = await account.open("INBOX")

    assert [(m.uid, m.modseq) for m in inbox.messages] == snapshot
    assert inbox.highestmodseq == highest
    assert inbox.vanished_since(before_expunge) == [5]
    await inbox.close()


async def test_vanished_since_before_a_rebuild_reports_every_uid_not_present(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    old_modseq = inbox.highestmodseq
    await inbox.close()
    (dovecot_maildir / FILE_NAME).unlink()

    inbox = await account.open("INBOX")

    # UID 3 was expunged by Dovecot; the rebuilt index cannot know when.
    assert inbox.vanished_since(old_modseq) == [3]
    await inbox.close()


async def test_a_corrupt_index_is_moved_aside_and_rebuilt_with_a_log_line(
    account: Account, dovecot_maildir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = await account.open("INBOX")
    before = described(inbox.messages)
    await inbox.close()
    for name in (FILE_NAME + "-wal", FILE_NAME + "-shm"):
        (dovecot_maildir / name).unlink(missing_ok=True)
    (dovecot_maildir / FILE_NAME).write_bytes(b"this is not a database" * 100)

    with caplog.at_level(logging.ERROR, logger="mailroom.store.index"):
        inbox = await account.open("INBOX")

    assert described(inbox.messages) == before
    assert "cannot be read" in caplog.text
    assert list(dovecot_maildir.glob(FILE_NAME + ".broken-*"))
    await inbox.close()


async def test_an_index_with_another_schema_version_is_rebuilt(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    before = described(inbox.messages)
    await inbox.close()
    with sqlite3.connect(dovecot_maildir / FILE_NAME) as db:
        db.execute("UPDATE meta SET value = 99 WHERE key = 'schema'")

    inbox = await account.open("INBOX")

    assert described(inbox.messages) == before
    await inbox.close()


async def test_a_new_uidvalidity_forgets_the_old_uids(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    highest = inbox.highestmodseq
    await inbox.close()
    (dovecot_maildir / "dovecot-uidlist").unlink()

    inbox = await account.open("INBOX")

    assert inbox.uidvalidity != 1795616411
    assert [m.uid for m in inbox.messages] == [1, 2, 3, 4, 5]
    assert inbox.highestmodseq > highest
    await inbox.close()


async def test_ten_thousand_messages_sync_without_reading_them(
    store: MailStore, tmp_path: Path
) -> None:
    account = store.account(tmp_path / "Maildir", quota_bytes=None)
    inbox = await account.open("INBOX")
    for number in range(10_000):
        name = f"{1700000000 + number}.M1P1Q{number}.host,S=10,W=11:2,S"
        (inbox.path / "cur" / name).write_bytes(b"Subject: \n")

    assert await inbox.sync()
    assert len(inbox.messages) == 10_000
    assert inbox.find(5000) is not None and inbox.find(10_001) is None
    assert not await inbox.sync()  # nothing changed: a few stat() calls
    await inbox.close()


async def test_two_processes_sharing_a_folder_see_the_same_uids_and_rising_modseqs(
    store: MailStore, tmp_path: Path
) -> None:
    other_process = MailStore(
        events=MailboxEvents(), search_text=lambda data: ("", data.decode()), hostname="other"
    )
    ours = await store.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    theirs = await other_process.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")

    first = await ours.append(b"Subject: one\r\n\r\n1\r\n")
    assert await theirs.sync()
    second = await theirs.append(b"Subject: two\r\n\r\n2\r\n", ["\\Seen"])
    await theirs.store_flags([first.uid], "add", ["\\Flagged"])
    assert await ours.sync()

    assert [(m.uid, m.flags) for m in ours.messages] == [
        (first.uid, {"\\Flagged"}),
        (second.uid, {"\\Seen"}),
    ]
    assert second.uid == first.uid + 1
    assert ours.highestmodseq > first.modseq
    assert theirs.highestmodseq > second.modseq > first.modseq
    await theirs.close()
    await other_process.close()
    await ours.close()


async def test_of_two_processes_sharing_a_folder_one_claims_each_recent_message(
    store: MailStore, tmp_path: Path
) -> None:
    # The first recent UID is in the index, which both processes read and write.
    other_process = MailStore(
        events=MailboxEvents(), search_text=lambda data: ("", data.decode()), hostname="other"
    )
    our_account = store.account(tmp_path / "Maildir", quota_bytes=None)
    ours = await our_account.open("INBOX")
    theirs = await other_process.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    first = await ours.append(b"Subject: one\r\n\r\n1\r\n", ["\\Seen"])
    second = await ours.append(b"Subject: two\r\n\r\n2\r\n")
    assert await theirs.sync()
    assert theirs.status().recent == 2
    assert await theirs.recent_uids(1, second.uid) == [first.uid, second.uid]

    assert await theirs.claim_recent(1, second.uid) == [first.uid, second.uid]

    assert (await our_account.status("INBOX")).recent == 0
    assert await ours.recent_uids(1, second.uid) == []
    assert await ours.claim_recent(1, second.uid) == []
    third = await ours.append(b"Subject: three\r\n\r\n3\r\n", ["\\Flagged"])
    assert await theirs.sync()
    assert theirs.status().recent == 1
    assert await ours.claim_recent(third.uid, third.uid) == [third.uid]
    assert await theirs.claim_recent(third.uid, third.uid) == []
    await theirs.close()
    await other_process.close()
    await ours.close()


async def test_dovecots_new_message_is_claimed_as_recent_and_moved_to_cur(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")

    # Our index is new: of what Dovecot left, only the message in new/ is recent.
    assert await inbox.claim_recent(1, 6) == [6]

    assert (dovecot_maildir / "cur" / "1795616427.M454329P13700.vm,S=43,W=47:2,").is_file()
    assert not any((dovecot_maildir / "new").iterdir())
    await inbox.close()


async def test_an_index_of_schema_1_drops_its_full_text_table_and_keeps_its_modseqs(
    account: Account, dovecot_maildir: Path
) -> None:
    inbox = await account.open("INBOX")
    await inbox.store_flags([4], "add", ["\\Seen"])
    before = [(m.uid, m.modseq) for m in inbox.messages]
    await inbox.close()
    with sqlite3.connect(dovecot_maildir / FILE_NAME) as db:
        db.execute("DROP TABLE texts")
        db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='trigram')")
        db.execute("INSERT INTO fts (rowid, text) VALUES (1, 'old text')")
        db.execute("UPDATE meta SET value = 1 WHERE key = 'schema'")

    inbox = await account.open("INBOX")

    assert [(m.uid, m.modseq) for m in inbox.messages] == before
    assert await inbox.search_text("old text", [1]) == set()
    await inbox.close()
    with sqlite3.connect(dovecot_maildir / FILE_NAME) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        (schema,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    assert "fts" not in tables
    assert schema == SCHEMA_VERSION


def _row(uid: int, info: str = "S", modseq: int = 5) -> IndexRow:
    base = f"1700000000.M{uid}P1Q{uid}.host,S=10,W=11"
    return IndexRow(
        uid=uid,
        base=base,
        file=f"{base}:2,{info}",
        recent=False,
        info=info,
        modseq=modseq,
        stored_size=10,
        size=11,
        internaldate=1700000000,
    )


def _committed(path: Path, query: str) -> list[tuple[object, ...]]:
    """What another connection (another process) reads in the index file now."""
    db = sqlite3.connect(path / FILE_NAME)
    try:
        return list(db.execute(query))
    finally:
        db.close()


def test_rows_written_behind_come_with_highestmodseq_written_at_once(tmp_path: Path) -> None:
    index = MailboxIndex(tmp_path)
    try:
        raised = index.highestmodseq + 5  # a new index starts at the clock
        index.apply(upsert=[_row(1), _row(2)], highestmodseq=raised, later=True)

        meta = "SELECT value FROM meta WHERE key = 'highestmodseq'"
        assert _committed(tmp_path, meta) == [(raised,)]  # before any flush
        assert _committed(tmp_path, "SELECT uid FROM messages") == []
        assert index.pending and index.highestmodseq == raised

        index.flush()

        assert not index.pending
        assert _committed(tmp_path, "SELECT uid FROM messages ORDER BY uid") == [(1,), (2,)]
    finally:
        index.close()


def test_writes_behind_keep_their_order_with_the_writes_made_at_once(tmp_path: Path) -> None:
    index = MailboxIndex(tmp_path)
    try:
        index.apply(upsert=[_row(1), _row(2)], highestmodseq=6, later=True)
        index.apply(renamed=[(_row(1).base, True, "", 7, 1)], highestmodseq=7, later=True)
        # Made at once, after what is queued: the rows exist when it expunges one.
        index.apply(expunge=[2], highestmodseq=8, expunge_modseq=8)

        assert not index.pending
        assert [(r.uid, r.recent, r.modseq) for r in index.rows()] == [(1, True, 7)]
        assert index.expunged() == [(8, 2)]
    finally:
        index.close()


def test_a_cached_value_is_read_back_before_it_is_written(tmp_path: Path) -> None:
    index = MailboxIndex(tmp_path)
    try:
        index.put_cached(3, "envelope", b"(env)")
        index.put_cached_many("envelope", {4: b"(four)"})

        assert _committed(tmp_path, "SELECT uid FROM cache") == []
        assert index.cached(3, "envelope") == b"(env)"
        assert index.cached_many([3, 4, 5], "envelope") == {3: b"(env)", 4: b"(four)"}

        index.flush()

        assert _committed(tmp_path, "SELECT uid FROM cache ORDER BY uid") == [(3,), (4,)]
        assert index.cached_many([3, 4], "envelope") == {3: b"(env)", 4: b"(four)"}
    finally:
        index.close()


def test_closing_writes_what_is_queued(tmp_path: Path) -> None:
    index = MailboxIndex(tmp_path)
    index.apply(upsert=[_row(9)], highestmodseq=10, later=True)
    index.put_cached(9, "envelope", b"(nine)")
    index.close()
    index.close()  # twice is harmless
    index.flush()  # and so is a flush after closing

    assert _committed(tmp_path, "SELECT uid FROM messages") == [(9,)]
    assert _committed(tmp_path, "SELECT value FROM cache") == [(b"(nine)",)]
