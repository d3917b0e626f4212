"""`mailroom import legacy --index`: every folder's index is built beforehand, with the
UIDs, flags and sizes a SELECT would find, and nothing Dovecot reads changes (the index
is a cache); a folder whose files `dovecot-uidlist` does not number yet is left for the
member's first login, rather than numbered here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.legacy.conftest import LegacyHost
from tests.legacy.dovecot_maildir import MESSAGE, dovecot_files, write_folder, write_maildir
from tests.legacy.test_import_command import _config, _import

INDEX = "mailroom-index.sqlite"


def _rows(folder: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(folder / INDEX) as db:
        return [
            (uid, info.decode(), size)
            for uid, info, size in db.execute("SELECT uid, info, size FROM messages ORDER BY uid")
        ]


def test_index_builds_every_folders_index(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    write_maildir(jdoe, {"INBOX": 4, ".Sent": 2, ".Lists.Python": 1})
    output = _import(_config(tmp_path / "mailroom"), legacy_host, "--index")
    assert "Indexed 3 folders (7 messages)" in output
    first = MESSAGE.replace(b"%d", b"0")
    virtual = len(first)  # written with CRLF already
    assert _rows(jdoe) == [(1, "S", virtual), (2, "S", virtual), (3, "", virtual), (4, "", virtual)]
    assert [uid for uid, _, _ in _rows(jdoe / ".Sent")] == [1, 2]
    assert [uid for uid, _, _ in _rows(jdoe / ".Lists.Python")] == [1]


def test_index_changes_nothing_dovecot_reads(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    write_maildir(jdoe, {"INBOX": 4, ".Sent": 2})
    before = dovecot_files(jdoe)
    listing = sorted(str(p.relative_to(jdoe)) for p in jdoe.rglob("*") if INDEX not in p.name)
    _import(_config(tmp_path / "mailroom"), legacy_host, "--index")
    assert dovecot_files(jdoe) == before
    after = sorted(str(p.relative_to(jdoe)) for p in jdoe.rglob("*") if INDEX not in p.name)
    assert after == listing  # nothing moved from new/ to cur/, no lock left behind


def test_a_folder_with_unnumbered_mail_is_left_for_the_first_login(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    write_folder(jdoe, 3, numbered=2)  # a message delivered since Dovecot last looked
    uidlist = (jdoe / "dovecot-uidlist").read_bytes()
    output = _import(_config(tmp_path / "mailroom"), legacy_host, "--index")
    assert "not indexed:" in output
    assert "does not number yet" in output
    assert (jdoe / "dovecot-uidlist").read_bytes() == uidlist


def test_a_second_index_run_keeps_the_index(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    write_maildir(jdoe, {"INBOX": 3})
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--index")
    first = _rows(jdoe)
    output = _import(config, legacy_host, "--index")
    assert _rows(jdoe) == first
    assert "Indexed 1 folders (3 messages)" in output


def test_index_dry_run_builds_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    write_maildir(jdoe, {"INBOX": 2, ".Sent": 1})
    output = _import(_config(tmp_path / "mailroom"), legacy_host, "--index", "--dry-run")
    assert "Would build the index of 3 folders" in output  # and asmith's empty INBOX
    assert not list(jdoe.rglob(INDEX))
