"""The store's one write path (writing.py): what a delivery, an APPEND or a COPY
leaves on disk, the quota it checks and counts, and who it wakes."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from mailroom.store import MailboxEvents, Maildir, Quota, QuotaExceeded
from mailroom.store.filename import MessageFileName, parse_file_name
from mailroom.store.writing import FolderWriter, NewMessage

MESSAGE = b"From: alice@example.org\r\nSubject: hi\r\n\r\nHello\r\n"


def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "Maildir"
    Maildir(root, hostname="h").create()
    return root


def test_a_delivered_stream_is_in_new_under_dovecots_name_and_tmp_is_empty(
    tmp_path: Path,
) -> None:
    root = maildir(tmp_path)
    writer = FolderWriter(root, hostname="mx.example.org")

    (path,) = writer.put([NewMessage(io.BytesIO(MESSAGE), prefix=b"Return-Path: <>\r\n")]).paths

    stored = b"Return-Path: <>\n" + MESSAGE.replace(b"\r\n", b"\n")
    assert path.parent == root / "new"
    assert path.read_bytes() == stored
    name = parse_file_name(path.name)
    assert name is not None and name.info is None
    assert (name.stored_size, name.virtual_size) == (len(stored), len(stored) + stored.count(b"\n"))
    assert name.unique.endswith(".mx.example.org")
    assert os.listdir(root / "tmp") == []


def test_a_message_with_flags_goes_to_cur_with_its_letters_sorted(tmp_path: Path) -> None:
    root = maildir(tmp_path)

    put = FolderWriter(root, hostname="h").put(
        [NewMessage(MESSAGE, frozenset({"\\Seen", "\\Answered"}), internaldate=1_700_000_000)]
    )

    (path,) = put.paths
    assert path.parent == root / "cur"
    name = parse_file_name(path.name)
    assert isinstance(name, MessageFileName) and name.info == "RS"
    assert path.stat().st_mtime == 1_700_000_000  # the internal date


def test_several_messages_arrive_together_in_order(tmp_path: Path) -> None:
    root = maildir(tmp_path)

    put = FolderWriter(root, hostname="h").put([NewMessage(b"one\r\n"), NewMessage(b"two\r\n")])

    assert [path.read_bytes() for path in put.paths] == [b"one\n", b"two\n"]
    assert put.positions == [0, 1]


def test_a_stream_that_does_not_fit_the_quota_leaves_nothing_behind(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    writer = FolderWriter(root, hostname="h", quota=Quota(root, 60))
    writer.put([NewMessage(io.BytesIO(MESSAGE))])

    with pytest.raises(QuotaExceeded):
        writer.put([NewMessage(io.BytesIO(MESSAGE))])

    assert len(os.listdir(root / "new")) == 1
    assert os.listdir(root / "tmp") == []
    stored = len(MESSAGE.replace(b"\r\n", b"\n"))
    assert (root / "maildirsize").read_text() == f"60S\n0 0\n{stored} 1\n"


def test_bytes_that_do_not_fit_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    writer = FolderWriter(root, hostname="h", quota=Quota(root, 10))

    with pytest.raises(QuotaExceeded):
        writer.put([NewMessage(MESSAGE)])

    assert os.listdir(root / "new") == os.listdir(root / "tmp") == []


def test_a_source_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1, /) -> bytes:
            raise OSError(5, "Input/output error")

    root = maildir(tmp_path)

    with pytest.raises(OSError, match="Input/output error"):
        FolderWriter(root, hostname="h").put([NewMessage(b"fine\r\n"), NewMessage(Broken())])

    assert os.listdir(root / "new") == os.listdir(root / "tmp") == []


async def test_the_folders_waiters_are_woken(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    events = MailboxEvents(poll_interval=0)
    async with events.watch(root) as waiter:
        writer = FolderWriter(root, hostname="h", events=events)
        await asyncio.to_thread(writer.put, [NewMessage(MESSAGE)])

        await asyncio.wait_for(waiter.wait(), timeout=10)
