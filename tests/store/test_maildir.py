"""Delivering into a Maildir the way Dovecot does: tmp/ then new/, fsynced, named
`<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<size with CRLF>`, stored with LF."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from mailroom.store import Maildir, unique_name
from mailroom.store.filename import escape_hostname

MESSAGE = b"From: alice@example.org\r\nSubject: hi\r\n\r\nHello\r\nBob\r\n"
DOVECOT_NAME = re.compile(
    r"(?P<secs>\d+)\.M(?P<usecs>\d+)P(?P<pid>\d+)Q(?P<n>\d+)\.(?P<host>[^,:/]+)"
    r",S=(?P<size>\d+),W=(?P<vsize>\d+)"
)


class Trickle(io.RawIOBase):
    """A source that hands out `step` bytes per read, to split CRLFs across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        chunk, self.data = self.data[: self.step], self.data[self.step :]
        return chunk


def test_the_first_delivery_creates_a_private_maildir(tmp_path: Path) -> None:
    root = tmp_path / "mail/example.org/alice/Maildir"
    Maildir(root, hostname="mx.example.org").deliver(io.BytesIO(MESSAGE))

    for sub in ("cur", "new", "tmp"):
        assert (root / sub).is_dir()
        assert (root / sub).stat().st_mode & 0o777 == 0o700


def test_a_message_is_named_and_sized_as_dovecot_does(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="mx.example.org").deliver(io.BytesIO(MESSAGE))

    assert path.parent == tmp_path / "new"
    match = DOVECOT_NAME.fullmatch(path.name)
    assert match is not None, path.name
    assert match["host"] == "mx.example.org"
    assert match["pid"] == str(os.getpid())
    stored = path.read_bytes()
    assert stored == MESSAGE.replace(b"\r\n", b"\n")
    assert int(match["size"]) == len(stored)
    assert int(match["vsize"]) == len(MESSAGE)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_crlf_split_between_reads_still_becomes_lf(tmp_path: Path) -> None:
    for step in (1, 2, 3, 7):
        path = Maildir(tmp_path, hostname="h").deliver(Trickle(MESSAGE, step))
        assert path.read_bytes() == MESSAGE.replace(b"\r\n", b"\n"), step


def test_a_lone_cr_is_kept_and_a_bare_lf_counts_as_crlf(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"a\rb\nc\r\r\nend\r"))
    assert path.read_bytes() == b"a\rb\nc\r\nend\r"
    match = DOVECOT_NAME.fullmatch(path.name)
    assert match is not None
    assert (int(match["size"]), int(match["vsize"])) == (11, 13)


def test_a_prefix_is_written_before_the_message(tmp_path: Path) -> None:
    path = Maildir(tmp_path, hostname="h").deliver(
        io.BytesIO(MESSAGE), prefix=b"Return-Path: <alice@example.org>\r\n"
    )
    assert path.read_bytes().startswith(b"Return-Path: <alice@example.org>\nFrom: ")


def test_a_host_name_with_slash_or_colon_is_escaped_as_dovecot_does() -> None:
    assert escape_hostname("mx/1:25") == "mx\\0571\\07225"
    assert unique_name("mx/1:25").endswith(".mx\\0571\\07225")


def test_unique_names_differ_within_one_microsecond(tmp_path: Path) -> None:
    names = {unique_name("h") for _ in range(10000)}
    assert len(names) == 10000


def test_many_deliveries_are_all_kept(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    paths = {maildir.deliver(io.BytesIO(MESSAGE)) for _ in range(200)}
    assert len(paths) == 200
    assert len(list((tmp_path / "new").iterdir())) == 200


def test_a_failed_delivery_leaves_nothing_in_tmp(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1, /) -> bytes:
            raise OSError(5, "Input/output error")

    maildir = Maildir(tmp_path, hostname="h")
    with pytest.raises(OSError, match="Input/output error"):
        maildir.deliver(Broken())
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "new").iterdir()) == []
