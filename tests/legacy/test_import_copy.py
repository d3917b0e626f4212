"""`mailroom import legacy --copy-to DIR`: the Maildirs are copied as Dovecot would find
them (names, bytes, mtimes, `dovecot-uidlist`, `dovecot-keywords`, `subscriptions`), the
legacy ones are left untouched, the config line for the copies is printed, and running
it again brings the copy up to date without copying twice or deleting anything."""

from __future__ import annotations

import os
from pathlib import Path

from tests.legacy.conftest import LegacyHost
from tests.legacy.dovecot_maildir import dovecot_files, write_maildir
from tests.legacy.test_import_command import _config, _import


def _legacy(legacy_host: LegacyHost, user: str) -> Path:
    return Path(legacy_host.maildirs.replace("%n", user))


def test_copy_to_copies_the_maildirs_as_dovecot_left_them(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _legacy(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 4, ".Sent": 2, ".Entw&APw-rfe": 1})
    (jdoe / "tmp" / "half-written").write_bytes(b"From: x\r\n")
    before = dovecot_files(jdoe)
    copies = tmp_path / "srv" / "mail"
    output = _import(_config(tmp_path / "mailroom"), legacy_host, "--copy-to", str(copies))

    copy = copies / "jdoe" / "Maildir"
    assert dovecot_files(copy) == {
        name: value for name, value in before.items() if not name.startswith("tmp/")
    }
    assert (copy / "tmp").is_dir()
    assert dovecot_files(jdoe) == before  # the legacy Maildir untouched
    assert (copies / "asmith" / "Maildir" / "cur").is_dir()
    assert f'[mailbox] path_template = "{copies}/%n/Maildir"' in output
    assert "Copied 2 Maildirs" in output


def test_a_second_copy_copies_nothing_again(tmp_path: Path, legacy_host: LegacyHost) -> None:
    jdoe = _legacy(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 3, ".Sent": 1})
    copies = tmp_path / "copies"
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--copy-to", str(copies))
    output = _import(config, legacy_host, "--copy-to", str(copies))
    assert "0 files copied, 0 re-flagged messages renamed" in output


def test_a_second_copy_follows_the_legacy_host_without_duplicates(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    jdoe = _legacy(legacy_host, "jdoe")
    write_maildir(jdoe, {"INBOX": 4})
    copies = tmp_path / "copies"
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host, "--copy-to", str(copies))
    # On the legacy host meanwhile: a message read (new/ → cur/ with S), one flagged,
    # one expunged, and the uidlist rewritten.
    (unread,) = [p for p in sorted((jdoe / "new").iterdir())][:1]
    stamp = unread.stat().st_mtime_ns
    read = jdoe / "cur" / f"{unread.name}:2,S"
    os.rename(unread, read)
    os.utime(read, ns=(stamp, stamp))
    first_seen = sorted((jdoe / "cur").iterdir())[0]
    os.rename(first_seen, first_seen.with_name(first_seen.name + "F"))
    expunged = sorted((jdoe / "cur").iterdir())[1]
    expunged.unlink()
    (jdoe / "dovecot-uidlist").write_text((jdoe / "dovecot-uidlist").read_text() + "")
    os.utime(jdoe / "dovecot-uidlist")
    output = _import(config, legacy_host, "--copy-to", str(copies))

    copy = copies / "jdoe" / "Maildir"
    legacy_names = {p.name for sub in ("cur", "new") for p in (jdoe / sub).iterdir()}
    copy_names = {p.name for sub in ("cur", "new") for p in (copy / sub).iterdir()}
    assert copy_names == legacy_names | {expunged.name}  # nothing deleted from the copy
    assert "2 re-flagged messages renamed" in output
    assert "1 messages only in the copy kept" in output
    assert (copy / "dovecot-uidlist").read_bytes() == (jdoe / "dovecot-uidlist").read_bytes()


def test_copy_to_the_maildirs_own_place_is_refused(tmp_path: Path, legacy_host: LegacyHost) -> None:
    from tests.support.installation import mailroom_process

    config = _config(tmp_path / "mailroom")
    assert config.source is not None
    home = legacy_host.maildirs.split("/%n/")[0]
    result = mailroom_process("-c", str(config.source), *legacy_host.import_args("--copy-to", home))
    assert result.returncode == 1
    assert result.stderr == f"mailroom: error: --copy-to {home}: that is where the Maildirs are\n"


def test_copy_dry_run_copies_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    write_maildir(_legacy(legacy_host, "jdoe"), {"INBOX": 2})
    copies = tmp_path / "copies"
    output = _import(
        _config(tmp_path / "mailroom"), legacy_host, "--copy-to", str(copies), "--dry-run"
    )
    assert "Would copy 2 Maildirs" in output
    assert not copies.exists()
