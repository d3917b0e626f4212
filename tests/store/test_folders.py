"""Maildir++ folders: `.Name` directories with a `maildirfolder` marker, '.' between
levels, names in modified UTF-7, and nothing that could name another directory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.store import FolderNameError, Maildir, folder_directory, folder_name


def test_a_folder_is_a_dot_directory_with_a_maildirfolder_file(tmp_path: Path) -> None:
    sent = Maildir(tmp_path, hostname="h").create_folder("Sent")

    assert sent.root == tmp_path / ".Sent"
    assert sorted(p.name for p in sent.root.iterdir()) == ["cur", "maildirfolder", "new", "tmp"]
    assert (sent.root / "maildirfolder").read_bytes() == b""
    assert (tmp_path / "cur").is_dir()  # the account's Maildir came first


def test_levels_are_separated_by_dots_on_disk(tmp_path: Path) -> None:
    folder = Maildir(tmp_path).create_folder("Lists.Python")
    assert folder.root == tmp_path / ".Lists.Python"


def test_non_ascii_names_are_stored_in_modified_utf7(tmp_path: Path) -> None:
    assert Maildir(tmp_path).create_folder("Entwürfe").root == tmp_path / ".Entw&APw-rfe"
    assert folder_name(".Entw&APw-rfe") == "Entwürfe"


def test_inbox_in_any_case_is_the_maildir_itself(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path)
    assert maildir.folder("inbox") is maildir
    assert folder_directory("Inbox.Archive") == ".INBOX.Archive"


def test_a_message_delivered_to_a_folder_lands_in_its_new(tmp_path: Path) -> None:
    folder = Maildir(tmp_path, hostname="h").create_folder("Lists")
    path = folder.deliver(io.BytesIO(b"Subject: x\r\n\r\nbody\r\n"))
    assert path.parent == tmp_path / ".Lists" / "new"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "cannot be empty"),
        (".", "cannot start or end with '.'"),
        ("..", "cannot start or end with '.'"),
        (".Sent", "cannot start or end with '.'"),
        ("Sent.", "cannot start or end with '.'"),
        ("a..b", "contain '..'"),
        ("a/b", "'/' cannot be part"),
        ("../../etc", "'/' cannot be part"),
        ("a\0b", "control characters"),
        ("a\x07b", "control characters"),
        ("\ud800", "not valid Unicode"),
        ("x" * 300, "too long"),
    ],
)
def test_unsafe_folder_names_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(FolderNameError, match=reason):
        Maildir(tmp_path).folder(name)


def test_a_folder_has_no_folders_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(FolderNameError, match="belong to the account's Maildir"):
        Maildir(tmp_path).folder("Lists").folder("Python")


@settings(deadline=None, max_examples=500)
@given(st.text(max_size=40))
def test_any_name_is_refused_or_one_safe_directory_that_reads_back(name: str) -> None:
    try:
        directory = folder_directory(name)
    except FolderNameError:
        return
    if directory is None:
        assert name.upper() == "INBOX"
        return
    assert directory.startswith(".") and directory not in (".", "..")
    assert "/" not in directory and "\0" not in directory
    assert len(directory.encode()) <= 255
    levels = name.split(".")
    if levels[0].upper() == "INBOX":
        levels[0] = "INBOX"
    assert folder_name(directory) == ".".join(levels)
