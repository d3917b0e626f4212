"""`mailroom import legacy --chown USER[:GROUP]`: the legacy Maildirs (and Sieve files)
are handed over to the service user, only what is not theirs yet, never through a
symbolic link; `--dry-run` only counts; without root, or for an unknown user, the import
refuses in one line before changing anything.

These tests hand files to `nobody` and so need root: CI runs as root, and there a
non-root run fails them, never skips (as tests/mailhost/test_service_user.py does).
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest

from mailroom.legacy.ownership import OwnershipError, resolve_owner
from tests.legacy.conftest import LegacyHost
from tests.legacy.dovecot_maildir import write_maildir
from tests.legacy.test_import_command import _config, _import
from tests.support.installation import mailroom_process
from tests.support.mail_host import write_config
from tests.support.required import require_root


@pytest.fixture(autouse=True)
def _as_root() -> None:
    require_root("changes owners, as root")


NOBODY = pwd.getpwnam("nobody")


def _maildir(legacy_host: LegacyHost, user: str) -> Path:
    return Path(legacy_host.maildirs.replace("%n", user))


def _owners(root: Path) -> set[tuple[int, int]]:
    return {(p.lstat().st_uid, p.lstat().st_gid) for p in [root, *root.rglob("*")]}


def test_chown_hands_every_maildir_over_to_the_user(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _maildir(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 3, ".Sent": 2})
    config = _config(tmp_path / "mailroom")
    output = _import(config, legacy_host, "--chown", "nobody:nogroup")
    nogroup = grp.getgrnam("nogroup").gr_gid
    assert _owners(jdoe) == {(NOBODY.pw_uid, nogroup)}
    assert _owners(_maildir(legacy_host, "asmith")) == {(NOBODY.pw_uid, nogroup)}
    assert "over to nobody:nogroup" in output


def test_chown_hands_over_what_the_import_wrote_in_the_data_directory(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--chown", "nobody")
    copies = tmp_path / "mailroom" / "data" / "legacy"
    assert {uid for uid, _ in _owners(copies)} == {NOBODY.pw_uid}
    assert (tmp_path / "mailroom" / "directory.sqlite3").stat().st_uid == NOBODY.pw_uid


def test_a_second_chown_changes_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    write_maildir(_maildir(legacy_host, "jdoe"), {"INBOX": 2})
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--chown", "nobody")
    output = _import(config, legacy_host, "--chown", "nobody")
    assert "Handed 0 of" in output


def test_chown_dry_run_counts_and_changes_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = _maildir(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 2})
    before = _owners(jdoe)
    config = _config(tmp_path / "mailroom")
    output = _import(config, legacy_host, "--chown", "nobody", "--dry-run")
    assert "Would hand " in output
    assert "Would hand 0 of" not in output
    assert _owners(jdoe) == before == {(0, 0)}


def test_chown_never_follows_a_link_out_of_the_maildir(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _maildir(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 1})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("root's\n")
    (jdoe / "cur" / "link-to-dir").symlink_to(outside)
    (jdoe / "cur" / "link-to-file").symlink_to(outside / "secret")
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--chown", "nobody")
    assert _owners(outside) == {(0, 0)}
    assert (jdoe / "cur" / "link-to-dir").lstat().st_uid == NOBODY.pw_uid


def test_a_file_of_roots_hard_linked_into_a_maildir_stays_roots(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _maildir(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 1})
    precious = tmp_path / "precious"
    precious.write_text("root's\n")
    os.link(precious, jdoe / "cur" / "1.M1P1.legacy:2,")
    config = _config(tmp_path / "mailroom")
    output = _import(config, legacy_host, "--chown", "nobody")
    assert precious.stat().st_uid == 0
    assert "a file of root's with other hard links" in output


def test_chown_by_an_unknown_user_is_refused_in_one_line(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    config = _config(tmp_path / "mailroom")
    assert config.source is not None
    args = legacy_host.import_args("--chown", "no-such-user-here")
    result = mailroom_process("-c", str(config.source), *args)
    assert result.returncode == 1
    assert result.stderr == "mailroom: error: --chown: no such user 'no-such-user-here'\n"
    assert "To create or change" not in result.stdout  # refused before anything else


def test_chown_without_root_is_refused() -> None:
    with pytest.raises(OwnershipError, match="only root can hand the Maildirs over"):
        resolve_owner("nobody", euid=NOBODY.pw_uid)


def test_as_root_the_configured_service_user_is_the_default(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _maildir(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 1})
    root = tmp_path / "mailroom"
    root.mkdir()
    path = write_config(root, {'# user = "mailroom"  # example; default: none': 'user = "nobody"'})
    result = mailroom_process("-c", str(path), *legacy_host.import_args())
    assert result.returncode == 0, result.stderr
    assert {uid for uid, _ in _owners(jdoe)} == {NOBODY.pw_uid}
