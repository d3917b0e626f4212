"""No folder name a client can send maps to a path outside the account's Maildir:
every name is refused with FolderNameError, or maps to the root (INBOX) or to one
`.`-directory directly below it, and reads back as the same name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.store import FolderNameError
from mailroom.store.folder_names import FolderNames

ROOT = Path("/srv/mail/alice/Maildir")
PIECES = ["a", "Z", "é", "日", ".", "/", "..", "~", "&", "-", "\x00", "\t", " ", "INBOX"]
hostile = st.lists(st.sampled_from(PIECES), max_size=20).map("".join) | st.text(max_size=300)


@pytest.mark.parametrize("separator", [".", "/"])
@given(name=hostile)
def test_no_name_maps_outside_the_root(separator: str, name: str) -> None:
    names = FolderNames(separator)
    try:
        path = names.path(ROOT, name)
    except FolderNameError:
        return
    assert path == ROOT or path.parent == ROOT
    if path != ROOT:
        assert path.name.startswith(".") and path.name not in (".", "..")
        assert len(path.name.encode()) <= 255
        assert names.name(path.name) == names.normalize(name)


@pytest.mark.parametrize(
    ("separator", "name", "directory"),
    [
        (".", "Sent", ".Sent"),
        (".", "Lists.Python", ".Lists.Python"),
        ("/", "Lists/Python", ".Lists.Python"),
        (".", "Entwürfe", ".Entw&APw-rfe"),
        (".", "Tom & Jerry", ".Tom &- Jerry"),
        ("/", "inbox/child", ".INBOX.child"),
    ],
)
def test_names_map_to_the_directories_dovecot_uses(
    separator: str, name: str, directory: str
) -> None:
    assert FolderNames(separator).directory(name) == directory


def test_inbox_in_any_case_is_the_root() -> None:
    assert FolderNames().path(ROOT, "iNbOx") == ROOT
