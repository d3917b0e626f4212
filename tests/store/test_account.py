"""An account's folders: defaults with SPECIAL-USE, CREATE/DELETE/RENAME as RFC 9051
says (INBOX is special), LIST attributes, Dovecot's subscriptions file, and quota."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import (
    Account,
    FolderError,
    FolderExists,
    FolderInfo,
    FolderNameError,
    FolderNotFound,
    MailboxEvents,
    MailStore,
    SpecialUseError,
)
from mailroom.store.subscriptions import V2_HEADER

MESSAGE = b"Subject: hello\r\n\r\nHello\r\n"


@pytest.fixture
async def store() -> AsyncIterator[MailStore]:
    mail_store = MailStore(
        events=MailboxEvents(), search_text=lambda data: ("", data.decode()), hostname="test.host"
    )
    yield mail_store
    await mail_store.close()


@pytest.fixture
async def slash_store() -> AsyncIterator[MailStore]:
    mail_store = MailStore(
        events=MailboxEvents(),
        search_text=lambda data: ("", data.decode()),
        hostname="test.host",
        hierarchy_separator="/",
    )
    yield mail_store
    await mail_store.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Maildir"


@pytest.fixture
def account(store: MailStore, root: Path) -> Account:
    return store.account(root, quota_bytes=None)


def by_name(folders: list[FolderInfo]) -> dict[str, set[str]]:
    return {folder.name: set(folder.attributes) for folder in folders}


async def test_default_folders_are_created_subscribed_and_marked_special_use(
    account: Account, root: Path
) -> None:
    await account.ensure_default_folders()

    assert by_name(await account.folders()) == {
        "INBOX": {"\\HasNoChildren"},
        "Archive": {"\\HasNoChildren", "\\Subscribed", "\\Archive"},
        "Drafts": {"\\HasNoChildren", "\\Subscribed", "\\Drafts"},
        "Junk": {"\\HasNoChildren", "\\Subscribed", "\\Junk"},
        "Sent": {"\\HasNoChildren", "\\Subscribed", "\\Sent"},
        "Trash": {"\\HasNoChildren", "\\Subscribed", "\\Trash"},
    }
    assert (root / ".Sent" / "maildirfolder").is_file()
    assert (
        root / "subscriptions"
    ).read_bytes() == V2_HEADER + b"Sent\nDrafts\nTrash\nJunk\nArchive\n"


async def test_an_unsubscribed_default_folder_stays_unsubscribed(account: Account) -> None:
    await account.ensure_default_folders()
    await account.unsubscribe("Junk")

    await account.ensure_default_folders()

    assert "Junk" not in await account.subscriptions()


async def test_create_makes_a_maildir_plus_plus_folder_in_modified_utf7(
    account: Account, root: Path
) -> None:
    await account.create("Entwürfe")
    await account.create("Lists.Python")

    assert (root / ".Entw&APw-rfe" / "cur").is_dir()
    assert (root / ".Lists.Python" / "cur").is_dir()
    folders = by_name(await account.folders())
    assert folders["Entwürfe"] == {"\\HasNoChildren"}
    assert folders["Lists"] == {"\\Noselect", "\\HasChildren"}
    assert folders["Lists.Python"] == {"\\HasNoChildren"}


async def test_create_with_use_records_the_special_use(account: Account) -> None:
    await account.ensure_default_folders()

    await account.create("Gesendet", special_use="\\Sent")

    folders = by_name(await account.folders())
    assert "\\Sent" in folders["Gesendet"]
    assert "\\Sent" not in folders["Sent"]  # one folder per attribute
    with pytest.raises(SpecialUseError):
        await account.create("Everything", special_use="\\All")


async def test_create_refuses_an_existing_folder_and_inbox(account: Account) -> None:
    await account.create("Work")

    with pytest.raises(FolderExists):
        await account.create("Work")
    with pytest.raises(FolderExists):
        await account.create("inbox")


async def test_a_trailing_separator_on_create_is_dropped(account: Account, root: Path) -> None:
    await account.create("Projects.")

    assert (root / ".Projects").is_dir()


async def test_inbox_cannot_be_deleted(account: Account) -> None:
    with pytest.raises(FolderError):
        await account.delete("INBOX")


async def test_delete_removes_the_folder_and_its_messages_but_not_its_children(
    account: Account, root: Path
) -> None:
    await account.create("Work")
    await account.create("Work.Old")
    work = await account.open("Work")
    await work.append(MESSAGE)
    await work.close()

    await account.delete("Work")

    assert not (root / ".Work").exists()
    assert by_name(await account.folders())["Work"] == {"\\Noselect", "\\HasChildren"}
    with pytest.raises(FolderNotFound):
        await account.delete("Work")
    with pytest.raises(FolderNotFound):
        await account.open("Work")


async def test_a_session_holding_a_deleted_folder_is_told(account: Account) -> None:
    await account.create("Work")
    work = await account.open("Work")

    await account.delete("Work")
    await work.sync()

    assert work.deleted
    await work.close()


async def test_rename_moves_children_subscriptions_and_special_use(
    account: Account, root: Path
) -> None:
    await account.create("Work", special_use="\\Archive")
    await account.create("Work.2024")
    await account.subscribe("Work.2024")
    work = await account.open("Work")
    message = await work.append(MESSAGE, ["\\Seen"])
    await work.close()

    await account.rename("Work", "Job")

    assert not (root / ".Work").exists() and (root / ".Job.2024").is_dir()
    folders = by_name(await account.folders())
    assert "\\Archive" in folders["Job"]
    assert "\\Subscribed" in folders["Job.2024"] and "Work.2024" not in folders
    job = await account.open("Job")
    assert [(m.uid, m.flags) for m in job.messages] == [(message.uid, {"\\Seen"})]
    await job.close()


async def test_rename_refuses_missing_sources_taken_targets_and_itself(
    account: Account,
) -> None:
    await account.create("A")
    await account.create("B")

    with pytest.raises(FolderNotFound):
        await account.rename("Nope", "C")
    with pytest.raises(FolderExists):
        await account.rename("A", "B")
    with pytest.raises(FolderNameError):
        await account.rename("A", "A.Inner")


async def test_renaming_inbox_moves_its_messages_and_leaves_it_empty(account: Account) -> None:
    inbox = await account.open("INBOX")
    await inbox.append(MESSAGE, ["\\Flagged"])
    await inbox.append(MESSAGE)

    await account.rename("INBOX", "Old Mail")

    await inbox.sync()
    assert inbox.messages == ()
    old = await account.open("Old Mail")
    assert [(m.uid, m.flags) for m in old.messages] == [(1, {"\\Flagged"}), (2, set())]
    await old.close()
    await inbox.close()


async def test_a_subscribed_name_without_a_folder_is_listed_as_nonexistent(
    account: Account,
) -> None:
    await account.subscribe("Gone")

    folders = by_name(await account.folders())

    assert folders["Gone"] == {"\\NonExistent", "\\Subscribed"}


async def test_an_old_style_subscriptions_file_is_read_and_kept_old_style(
    account: Account, root: Path
) -> None:
    root.mkdir()
    (root / "subscriptions").write_bytes(b"INBOX\nLists.Python\nEntw&APw-rfe\n")

    assert await account.subscriptions() == ["INBOX", "Lists.Python", "Entwürfe"]
    await account.unsubscribe("Lists.Python")

    assert (root / "subscriptions").read_bytes() == b"INBOX\nEntw&APw-rfe\n"


async def test_version_2_names_are_tab_separated_levels_whatever_the_separator(
    slash_store: MailStore, root: Path
) -> None:
    account = slash_store.account(root, quota_bytes=None)
    await account.create("Lists/Python")
    await account.subscribe("Lists/Python")

    assert (root / ".Lists.Python" / "cur").is_dir()
    assert (root / "subscriptions").read_bytes() == V2_HEADER + b"Lists\tPython\n"
    assert await account.subscriptions() == ["Lists/Python"]
    assert by_name(await account.folders())["Lists"] == {"\\Noselect", "\\HasChildren"}


async def test_with_slash_as_separator_a_dot_cannot_be_part_of_a_name(
    slash_store: MailStore, root: Path
) -> None:
    account = slash_store.account(root, quota_bytes=None)

    with pytest.raises(FolderNameError):
        await account.create("v1.2")


async def test_quota_reports_usage_of_all_folders(store: MailStore, root: Path) -> None:
    account = store.account(root, quota_bytes=10_000)
    await account.ensure_default_folders()
    for name in ("INBOX", "Sent"):
        mailbox = await account.open(name)
        await mailbox.append(MESSAGE)
        await mailbox.close()

    used, limit, messages = await account.quota()

    assert (used, limit, messages) == (2 * len(MESSAGE.replace(b"\r\n", b"\n")), 10_000, 2)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "a..b",
        ".hidden",
        "trailing..",
        "a/b",
        "../../etc",
        "/etc/passwd",
        "~root",
        "tab\there",
        "nul\x00",
        "wild*",
        "per%cent",
        "x" * 256,
    ],
)
async def test_names_that_could_escape_or_cannot_be_stored_are_refused(
    account: Account, name: str
) -> None:
    with pytest.raises(FolderNameError):
        await account.create(name)


def _age(*paths: Path) -> None:
    """Make these files look changed ten seconds ago: a folder list made now is kept."""
    for path in paths:
        past = path.stat().st_mtime - 10
        os.utime(path, (past, past))


async def test_a_kept_folder_list_is_made_anew_when_another_process_adds_a_folder(
    store: MailStore, account: Account, root: Path
) -> None:
    await account.create("Work")
    _age(root)
    assert "Play" not in by_name(await account.folders())
    assert store.folder_lists.get(root) is not None  # kept: nothing changed since

    (root / ".Play" / "cur").mkdir(parents=True)  # as Dovecot or a hand would

    assert store.folder_lists.get(root) is None
    assert by_name(await account.folders())["Play"] == {"\\HasNoChildren"}


async def test_a_kept_folder_list_follows_subscriptions_written_by_another_process(
    account: Account, root: Path
) -> None:
    await account.create("Work")
    await account.subscribe("Work")
    _age(root, root / "subscriptions")
    assert "\\Subscribed" in by_name(await account.folders())["Work"]

    (root / "subscriptions").write_bytes(V2_HEADER)  # Dovecot's UNSUBSCRIBE, elsewhere

    assert by_name(await account.folders())["Work"] == {"\\HasNoChildren"}


async def test_this_processs_own_changes_are_listed_at_once(account: Account, root: Path) -> None:
    await account.create("Work")
    _age(root)
    await account.folders()

    await account.create("Work.Old")  # all within one clock tick of the last list
    await account.unsubscribe("Work")

    assert by_name(await account.folders())["Work"] == {"\\HasChildren"}


async def test_a_folder_open_here_but_deleted_by_another_process_is_not_found(
    account: Account, root: Path
) -> None:
    await account.create("Work")
    held = await account.open("Work")  # another session has it open
    try:
        shutil.rmtree(root / ".Work")  # Dovecot's DELETE, elsewhere

        with pytest.raises(FolderNotFound):
            await account.status("Work")
        with pytest.raises(FolderNotFound):
            await account.open("Work")
    finally:
        await held.close()
