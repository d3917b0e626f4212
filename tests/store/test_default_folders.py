"""Which Maildir is new (and gets Drafts, Sent, Junk, Trash and Archive) and which one
exists already (and gets nothing): default_folders.py's rule, case by case; and the
`subscriptions` file's lines, written as Dovecot 2.3 writes them, read in either form,
for any input."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mailroom.store.default_folders import create_default_folders, is_new_maildir
from mailroom.store.folder_names import FolderNames
from mailroom.store.maildir import Maildir
from mailroom.store.subscriptions import format_line, parse_subscriptions


def test_a_missing_root_is_new(tmp_path: Path) -> None:
    assert is_new_maildir(tmp_path / "Maildir")


def test_an_empty_maildir_is_new_whatever_cache_files_it_has(tmp_path: Path) -> None:
    Maildir(tmp_path).create()
    for name in ("maildirsize", "mailroom-index.sqlite"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "tmp" / "1.delivery-in-progress").write_bytes(b"x")
    assert is_new_maildir(tmp_path)


def test_an_empty_maildir_a_server_has_served_is_not_new(tmp_path: Path) -> None:
    # A POP3-only member's Maildir from Dovecot, all mail fetched and deleted.
    Maildir(tmp_path).create()
    (tmp_path / "dovecot-uidlist").write_bytes(b"3 V1795616411 N7 G0\n")
    assert not is_new_maildir(tmp_path)


def test_a_maildir_with_a_folder_is_not_new(tmp_path: Path) -> None:
    Maildir(tmp_path).create()
    (tmp_path / ".Entw&APw-rfe").mkdir()  # even one with neither cur/ nor new/
    assert not is_new_maildir(tmp_path)


def test_a_maildir_with_a_subscriptions_file_is_not_new(tmp_path: Path) -> None:
    Maildir(tmp_path).create()
    (tmp_path / "subscriptions").write_bytes(b"")
    assert not is_new_maildir(tmp_path)


def test_mail_delivered_before_the_first_login_leaves_a_maildir_new(tmp_path: Path) -> None:
    # Mailroom's delivery writes no dovecot-uidlist: a new account that got mail first.
    for sub in ("new", "cur"):
        root = tmp_path / sub
        Maildir(root).create()
        (root / sub / "1.m.host:2,").write_bytes(b"Subject: x\n\nx\n")
        assert is_new_maildir(root)


def test_mail_and_a_uidlist_make_a_maildir_existing(tmp_path: Path) -> None:
    # Dovecot, by LDA or by a session, wrote its uidlist beside the mail.
    Maildir(tmp_path).create()
    (tmp_path / "new" / "1.m.host").write_bytes(b"Subject: x\n\nx\n")
    (tmp_path / "dovecot-uidlist").write_bytes(b"3 V1 N2\n1 1.m.host\n")
    assert not is_new_maildir(tmp_path)


def test_an_existing_maildir_only_gets_its_own_missing_directories(tmp_path: Path) -> None:
    Maildir(tmp_path, hostname="h").deliver(io.BytesIO(b"Subject: x\n\nx\n"))
    (tmp_path / "dovecot-uidlist").write_bytes(b"3 V1 N2\n")
    (tmp_path / "tmp").rmdir()
    assert not create_default_folders(tmp_path, FolderNames("."), hostname="h")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur", "dovecot-uidlist", "new", "tmp"]


def test_a_new_maildir_gets_the_default_folders_recorded_as_special_use(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    assert create_default_folders(root, FolderNames("."), hostname="h")
    assert (root / "mailroom-special-use").read_bytes() == (
        b"\\Archive\t.Archive\n\\Drafts\t.Drafts\n\\Junk\t.Junk\n\\Sent\t.Sent\n\\Trash\t.Trash\n"
    )
    # A second login finds it existing: nothing more.
    assert not create_default_folders(root, FolderNames("."), hostname="h")


def test_a_non_ascii_level_is_written_in_modified_utf7() -> None:
    assert format_line(2, ("Lists", "Café")) == "Lists\tCaf&AOk-"
    assert format_line(1, ("Entwürfe",)) == "Entw&APw-rfe"
    assert format_line(2, ("R&D",)) == "R&-D"


levels = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4).map(tuple)


@given(st.lists(levels, max_size=6))
def test_what_is_written_reads_back_the_same(names: list[tuple[str, ...]]) -> None:
    text = "V\t2\n\n" + "".join(format_line(2, name) + "\n" for name in names)
    assert text.isascii()
    assert parse_subscriptions(text.encode()) == (2, names)


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_fail_cleanly(data: bytes) -> None:
    version, found = parse_subscriptions(data)
    assert version in (1, 2)
    assert all(isinstance(level, str) for name in found for level in name)


@given(st.lists(st.text(max_size=20), max_size=6))
def test_raw_utf8_and_modified_utf7_lines_read_the_same(names: list[str]) -> None:
    names = [n for n in names if n and "\n" not in n and "\t" not in n and "\x01" not in n]
    raw = "V\t2\n\n" + "".join(n + "\n" for n in names)
    encoded = "V\t2\n\n" + "".join(format_line(2, (n,)) + "\n" for n in names)
    as_utf7 = parse_subscriptions(encoded.encode())[1]
    assert as_utf7 == [(n,) for n in names]
    # A raw line reads as itself unless it is ASCII that is also valid modified UTF-7.
    for (name,), (read,) in zip(
        [(n,) for n in names], parse_subscriptions(raw.encode())[1], strict=True
    ):
        assert read == name or (name.isascii() and "&" in name)
