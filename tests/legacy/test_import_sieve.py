"""`mailroom import legacy` imports the members' Sieve scripts from where the legacy host
kept them (pysieved's `~/.pysieved/`, a hand-written `~/.dovecot.sieve`) into the
store's Pigeonhole layout (`~/sieve/NAME.sieve`, `~/.dovecot.sieve` linking to the
active one); a script that does not compile is reported with the reason and left out."""

from __future__ import annotations

import os
from pathlib import Path

from tests.legacy.conftest import LegacyHost
from tests.legacy.test_import_command import _config, _import

VACATION = b'require "vacation";\r\nvacation :days 3 "I am away.";\r\n'
FILING = b'require "fileinto";\r\nif header :contains "subject" "[lists]" { fileinto "Lists"; }\r\n'
BROKEN = b'require "fileinto";\r\nfileinto "Lists"\r\n'  # no ';'


def _home(legacy_host: LegacyHost, user: str) -> Path:
    return Path(legacy_host.maildirs.replace("%n", user)).parent


def _pysieved(home: Path, scripts: dict[str, bytes], active: str | None) -> None:
    """Scripts as pysieved's Dovecot storage writes them (names URL-quoted)."""
    (home / ".pysieved").mkdir()
    for quoted, text in scripts.items():
        (home / ".pysieved" / quoted).write_bytes(text)
    if active is not None:
        (home / ".dovecot.sieve").symlink_to(f".pysieved/{active}")


def test_pysieved_scripts_are_imported_and_the_active_one_stays_active(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"away%20rule": VACATION, "lists": FILING}, active="away%20rule")
    output = _import(_config(tmp_path / "mailroom"), legacy_host)

    assert (home / "sieve" / "away rule.sieve").read_bytes() == VACATION
    assert (home / "sieve" / "lists.sieve").read_bytes() == FILING
    assert os.readlink(home / ".dovecot.sieve") == "sieve/away rule.sieve"
    assert "2 created, 0 updated, 0 unchanged, 1 made active, 0 left out" in output
    assert (home / ".pysieved" / "lists").read_bytes() == FILING  # pysieved's left as it was


def test_a_script_that_does_not_compile_is_reported_and_left_out(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"broken": BROKEN, "lists": FILING}, active="lists")
    output = _import(_config(tmp_path / "mailroom"), legacy_host)

    assert not (home / "sieve" / "broken.sieve").exists()
    assert (home / "sieve" / "lists.sieve").read_bytes() == FILING
    left = [line for line in output.splitlines() if line.startswith("Sieve script left out")]
    assert len(left) == 1
    assert f"{home}/.pysieved/broken: does not compile: broken: line " in left[0]
    assert "1 left out" in output


def test_a_broken_active_script_leaves_the_active_link_as_it_was(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"broken": BROKEN, "lists": FILING}, active="broken")
    _import(_config(tmp_path / "mailroom"), legacy_host)
    assert os.readlink(home / ".dovecot.sieve") == ".pysieved/broken"


def test_a_hand_written_dovecot_sieve_becomes_the_active_dovecot_orig(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "asmith")
    (home / ".dovecot.sieve").write_bytes(FILING)
    _import(_config(tmp_path / "mailroom"), legacy_host)
    assert (home / "sieve" / "dovecot.orig.sieve").read_bytes() == FILING
    assert os.readlink(home / ".dovecot.sieve") == "sieve/dovecot.orig.sieve"


def test_a_second_import_finds_the_scripts_in_place(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"away": VACATION}, active="away")
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host)
    output = _import(config, legacy_host)
    assert "0 created, 0 updated, 1 unchanged, 0 made active, 0 left out" in output


def test_with_copy_to_the_scripts_go_beside_the_copies(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"away": VACATION}, active="away")
    copies = tmp_path / "copies"
    _import(_config(tmp_path / "mailroom"), legacy_host, "--copy-to", str(copies))
    assert (copies / "jdoe" / "sieve" / "away.sieve").read_bytes() == VACATION
    assert os.readlink(copies / "jdoe" / ".dovecot.sieve") == "sieve/away.sieve"
    assert os.readlink(home / ".dovecot.sieve") == ".pysieved/away"  # the legacy home as it was
    assert not (home / "sieve").exists()


def test_sieve_dry_run_writes_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    home = _home(legacy_host, "jdoe")
    _pysieved(home, {"away": VACATION}, active="away")
    output = _import(_config(tmp_path / "mailroom"), legacy_host, "--dry-run")
    assert "1 created, 0 updated, 0 unchanged, 1 made active" in output
    assert "would be imported" in output
    assert not (home / "sieve").exists()
    assert os.readlink(home / ".dovecot.sieve") == ".pysieved/away"
