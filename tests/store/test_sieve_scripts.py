"""An account's Sieve scripts in Pigeonhole's layout: `sieve/NAME.sieve`, the active one
named by the `.dovecot.sieve` link with a relative target, `.svbin` files and others'
temporary files left alone, and names that can never be a path."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.store import (
    NoSuchScript,
    QuotaKind,
    ScriptExists,
    ScriptInfo,
    ScriptIsActive,
    ScriptNameError,
    ScriptQuota,
    ScriptQuotaExceeded,
    ScriptStoreError,
    SieveLocation,
    SieveScripts,
    script_name_problem,
)
from mailroom.store.sieve_scripts import MAX_NAME_BYTES, STALE_TMP_SECONDS

QUOTA = ScriptQuota(max_scripts=3, max_storage=100, max_script_size=60)


def scripts_in(home: Path, quota: ScriptQuota = QUOTA) -> SieveScripts:
    return SieveScripts(SieveLocation(home / "sieve", home / ".dovecot.sieve"), quota)


@pytest.fixture
def scripts(tmp_path: Path) -> SieveScripts:
    return scripts_in(tmp_path)


def test_a_new_account_has_no_scripts_and_none_active(scripts: SieveScripts) -> None:
    assert scripts.list() == []
    assert scripts.active_name() is None


def test_put_writes_name_dot_sieve_and_get_reads_it_back(scripts: SieveScripts) -> None:
    scripts.put("vacation", b"keep;\r\n")
    assert (scripts.directory / "vacation.sieve").read_bytes() == b"keep;\r\n"
    assert scripts.get("vacation") == b"keep;\r\n"
    assert scripts.list() == [ScriptInfo("vacation", active=False, size=7)]
    assert os.stat(scripts.directory / "vacation.sieve").st_mode & 0o777 == 0o600


def test_put_replaces_a_script_and_leaves_no_temporary_file(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    scripts.put("main", b"discard;")
    assert scripts.get("main") == b"discard;"
    assert list((scripts.directory / "tmp").iterdir()) == []


def test_setactive_writes_the_link_as_pigeonhole_does(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    scripts.activate("main")
    assert os.readlink(scripts.active_link) == "sieve/main.sieve"
    assert scripts.active_name() == "main"
    assert scripts.list() == [ScriptInfo("main", active=True, size=5)]


def test_activating_another_script_replaces_the_link(scripts: SieveScripts) -> None:
    scripts.put("a", b"keep;")
    scripts.put("b", b"keep;")
    scripts.activate("a")
    scripts.activate("b")
    assert os.readlink(scripts.active_link) == "sieve/b.sieve"
    names = sorted(p.name for p in scripts.active_link.parent.iterdir())
    assert names == [".dovecot.sieve", "sieve"]  # no temporary link left


def test_activating_a_missing_script_is_nonexistent(scripts: SieveScripts) -> None:
    with pytest.raises(NoSuchScript):
        scripts.activate("nothing")
    assert not scripts.active_link.is_symlink()


def test_deactivate_removes_the_link_and_keeps_the_script(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    scripts.activate("main")
    scripts.deactivate()
    assert not scripts.active_link.is_symlink()
    assert scripts.get("main") == b"keep;"
    scripts.deactivate()  # none active: nothing to do


def test_the_active_script_cannot_be_deleted(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    scripts.activate("main")
    with pytest.raises(ScriptIsActive):
        scripts.delete("main")
    scripts.deactivate()
    scripts.delete("main")
    assert scripts.list() == []
    with pytest.raises(NoSuchScript):
        scripts.delete("main")


def test_rename_keeps_the_active_link_on_the_script(scripts: SieveScripts) -> None:
    scripts.put("old", b"keep;")
    scripts.activate("old")
    scripts.rename("old", "new")
    assert os.readlink(scripts.active_link) == "sieve/new.sieve"
    assert scripts.list() == [ScriptInfo("new", active=True, size=5)]


def test_rename_never_overwrites(scripts: SieveScripts) -> None:
    scripts.put("a", b"keep;")
    scripts.put("b", b"discard;")
    with pytest.raises(ScriptExists):
        scripts.rename("a", "b")
    assert scripts.get("b") == b"discard;"
    with pytest.raises(NoSuchScript):
        scripts.rename("missing", "c")


def test_quota_limits_size_count_and_storage(scripts: SieveScripts) -> None:
    with pytest.raises(ScriptQuotaExceeded) as too_big:
        scripts.put("big", b"x" * 61)
    assert too_big.value.kind is QuotaKind.MAXSIZE
    scripts.put("a", b"x" * 50)
    scripts.put("b", b"x" * 40)
    with pytest.raises(ScriptQuotaExceeded) as storage:
        scripts.check_space("c", 11)
    assert storage.value.kind is QuotaKind.MAXSTORAGE
    scripts.check_space("a", 60)  # replacing a script counts its new size only
    scripts.put("c", b"x" * 10)
    with pytest.raises(ScriptQuotaExceeded) as count:
        scripts.check_space("d", 0)
    assert count.value.kind is QuotaKind.MAXSCRIPTS


def test_svbin_files_are_ignored_and_left_alone(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    compiled = scripts.directory / "main.svbin"
    compiled.write_bytes(b"\x00binary")
    scripts.activate("main")
    scripts.put("main", b"discard;")
    scripts.rename("main", "other")
    assert [info.name for info in scripts.list()] == ["other"]
    assert compiled.read_bytes() == b"\x00binary"


def test_stale_temporary_files_of_ours_are_cleaned_and_others_kept(
    scripts: SieveScripts,
) -> None:
    tmp = scripts.directory / "tmp"
    tmp.mkdir(parents=True)
    ours, theirs, fresh = tmp / "mailroom-dead.sieve", tmp / "main_1.M1P2.host", tmp / "mailroom-x"
    for path in (ours, theirs, fresh):
        path.write_bytes(b"keep;")
    old = time.time() - STALE_TMP_SECONDS - 10
    os.utime(ours, (old, old))
    os.utime(theirs, (old, old))
    scripts.put("main", b"keep;")
    assert not ours.exists()
    assert theirs.exists() and fresh.exists()


def test_a_regular_file_active_script_is_not_listed_active(scripts: SieveScripts) -> None:
    scripts.active_link.write_bytes(b"# written by hand\nkeep;\n")
    scripts.put("main", b"keep;")
    assert scripts.active_name() is None
    assert scripts.list() == [ScriptInfo("main", active=False, size=5)]


def test_activating_over_a_regular_file_keeps_it_as_dovecot_orig(scripts: SieveScripts) -> None:
    scripts.active_link.write_bytes(b"# by hand\nkeep;\n")
    scripts.put("main", b"keep;")
    scripts.activate("main")
    assert scripts.get("dovecot.orig") == b"# by hand\nkeep;\n"
    assert os.readlink(scripts.active_link) == "sieve/main.sieve"


def test_deactivating_a_regular_file_keeps_it_without_overwriting(scripts: SieveScripts) -> None:
    scripts.put("dovecot.orig", b"keep; # an earlier one\n")
    scripts.active_link.write_bytes(b"discard;\n")
    scripts.deactivate()
    assert not scripts.active_link.exists()
    assert scripts.get("dovecot.orig") == b"keep; # an earlier one\n"
    assert scripts.get("dovecot.orig.2") == b"discard;\n"


def test_a_link_out_of_the_scripts_directory_is_no_active_script(
    scripts: SieveScripts, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere.sieve").write_bytes(b"keep;")
    scripts.active_link.symlink_to("elsewhere.sieve")
    assert scripts.active_name() is None
    scripts.active_link.unlink()
    scripts.active_link.symlink_to("sieve/missing.sieve")
    assert scripts.active_name() is None


def test_a_link_written_with_an_absolute_target_is_understood(scripts: SieveScripts) -> None:
    scripts.put("main", b"keep;")
    scripts.active_link.symlink_to(scripts.directory / "main.sieve")
    assert scripts.active_name() == "main"


def test_an_active_path_that_is_a_directory_is_refused_not_removed(
    scripts: SieveScripts,
) -> None:
    scripts.active_link.mkdir()
    scripts.put("main", b"keep;")
    with pytest.raises(ScriptStoreError):
        scripts.activate("main")
    with pytest.raises(ScriptStoreError):
        scripts.deactivate()
    assert scripts.active_link.is_dir()


@pytest.mark.parametrize(
    "name", ["", "a/b", "../x", ".hidden", "a\x00b", "tab\there", "nl\n", "\x7f", "\u2028", "\x85"]
)
def test_names_that_are_refused(scripts: SieveScripts, name: str) -> None:
    assert script_name_problem(name) is not None
    with pytest.raises(ScriptNameError):
        scripts.put(name, b"keep;")


def test_names_may_be_long_utf8_but_not_longer_than_a_file_name(scripts: SieveScripts) -> None:
    longest = "é" * (MAX_NAME_BYTES // 2)
    scripts.put(longest, b"keep;")
    assert scripts.get(longest) == b"keep;"
    assert script_name_problem("é" * (MAX_NAME_BYTES // 2 + 1)) is not None


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=300))
def test_any_accepted_name_is_one_file_inside_the_scripts_directory(name: str) -> None:
    if script_name_problem(name) is not None:
        return
    scripts = scripts_in(Path("/nonexistent/home"))
    path = scripts.path(name)
    assert path.parent == scripts.directory
    assert path.name == name + ".sieve"
    assert len(path.name.encode()) <= 255


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=40), source=st.binary(max_size=60))
def test_any_accepted_name_round_trips(
    tmp_path_factory: pytest.TempPathFactory, name: str, source: bytes
) -> None:
    if script_name_problem(name) is not None:
        return
    scripts = scripts_in(tmp_path_factory.mktemp("home"))
    scripts.put(name, source)
    scripts.activate(name)
    assert scripts.list() == [ScriptInfo(name, active=True, size=len(source))]
    assert scripts.get(name) == source
