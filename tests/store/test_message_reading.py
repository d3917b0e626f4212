"""Reading message files: the octets served (CRLF line ends) whatever the file holds,
and the whole file even when its recorded size is wrong."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.store import Mailbox, MailboxEvents, MailStore
from mailroom.store.file_changes import Directories
from mailroom.store.message_reading import read_file
from mailroom.store.snapshot import crlf

MESSAGE = b"Subject: hi\n\nHello\nBob\n"
SERVED = MESSAGE.replace(b"\n", b"\r\n")


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Mailbox]:
    store = MailStore(events=MailboxEvents(), search_text=lambda data: ("", ""), hostname="h")
    account = store.account(tmp_path / "Maildir", quota_bytes=None)
    await account.ensure_default_folders()
    mailbox = await account.open("INBOX")
    yield mailbox
    await mailbox.close()
    await store.close()


async def test_a_batch_of_messages_is_read_with_crlf(inbox: Mailbox) -> None:
    first = await inbox.append(SERVED)
    second = await inbox.append(SERVED + b"More\r\n", ["\\Seen"])  # in new/ and in cur/

    bodies = await inbox.read_many([first.uid, second.uid, second.uid + 1])

    assert bodies == {first.uid: SERVED, second.uid: SERVED + b"More\r\n"}


async def test_a_message_renamed_by_another_process_is_still_read_in_a_batch(
    inbox: Mailbox,
) -> None:
    message = await inbox.append(SERVED, ["\\Seen"])
    os.rename(message.path, message.path.with_name(message.base_name + ":2,RS"))

    assert await inbox.read_many([message.uid]) == {message.uid: SERVED}


async def test_a_message_rewritten_larger_than_recorded_is_read_whole(inbox: Mailbox) -> None:
    message = await inbox.append(SERVED)
    message.path.write_bytes(MESSAGE + b"Added by another program\n")

    assert await inbox.read_many([message.uid]) == {
        message.uid: SERVED + b"Added by another program\r\n"
    }


def test_a_message_stored_with_lf_is_served_with_crlf() -> None:
    assert crlf(MESSAGE) == b"Subject: hi\r\n\r\nHello\r\nBob\r\n"


def test_a_message_already_with_crlf_is_served_as_it_is() -> None:
    data = MESSAGE.replace(b"\n", b"\r\n") + b"a lone CR\r stays"
    assert crlf(data) is data  # not even copied


@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"\n\r"])).map(b"".join))
def test_every_line_end_becomes_crlf_and_a_lone_cr_stays(data: bytes) -> None:
    assert crlf(data) == re.sub(rb"\r?\n", b"\r\n", data)


def test_a_file_of_its_recorded_size_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(MESSAGE)
    assert read_file(str(tmp_path / "m"), len(MESSAGE)) == MESSAGE


def test_a_file_larger_than_its_recorded_size_is_read_to_the_end(tmp_path: Path) -> None:
    data = MESSAGE * 100_000  # more than one read of READ_CHUNK
    (tmp_path / "m").write_bytes(data)
    assert read_file(str(tmp_path / "m"), len(MESSAGE)) == data
    assert read_file(str(tmp_path / "m"), 0) == data


def test_a_file_smaller_than_its_recorded_size_is_read_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(MESSAGE)
    assert read_file(str(tmp_path / "m"), len(MESSAGE) + 10) == MESSAGE


def test_files_are_read_relative_to_their_open_folder_directories(tmp_path: Path) -> None:
    for sub, name in (("cur", "a:2,S"), ("new", "b")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / name).write_bytes(sub.encode())
    directories = Directories()
    try:
        cur = directories.fd(tmp_path, recent=False)
        assert directories.fd(tmp_path, recent=False) == cur  # opened once per batch
        assert read_file("a:2,S", 3, directories.fd(tmp_path, recent=False)) == b"cur"
        assert read_file("b", 3, directories.fd(tmp_path, recent=True)) == b"new"
    finally:
        directories.close()
    with pytest.raises(OSError):
        os.fstat(cur)  # closed with the batch
