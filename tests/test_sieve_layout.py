"""The test helper that writes an account's Sieve scripts in Pigeonhole's layout
(tests/support/sieve_layout.py), with Debian's sievec for the compiled binaries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.sieve_layout import (
    SVBIN_MAGIC,
    SievecRefused,
    sievec,
    write_sieve_layout,
)

FILEINTO = 'require "fileinto";\nif header :contains "Subject" "report" { fileinto "Work"; }\n'
KEEP = "keep;\n"


def test_each_script_is_a_file_and_the_active_one_a_relative_link(tmp_path: Path) -> None:
    layout = write_sieve_layout(tmp_path, {"main": FILEINTO, "spare": KEEP}, active="main")

    assert layout.script("main").read_text() == FILEINTO
    assert layout.script("spare").read_text() == KEEP
    assert os.readlink(tmp_path / ".dovecot.sieve") == "sieve/main.sieve"
    assert (tmp_path / ".dovecot.sieve").read_text() == FILEINTO
    assert sorted(p.name for p in (tmp_path / "sieve").iterdir()) == ["main.sieve", "spare.sieve"]


def test_without_an_active_script_there_is_no_link(tmp_path: Path) -> None:
    write_sieve_layout(tmp_path, {"main": FILEINTO})

    assert not (tmp_path / ".dovecot.sieve").is_symlink()
    assert (tmp_path / "sieve" / "main.sieve").is_file()


def test_writing_again_moves_the_link_to_the_new_active_script(tmp_path: Path) -> None:
    write_sieve_layout(tmp_path, {"main": FILEINTO, "spare": KEEP}, active="main")
    write_sieve_layout(tmp_path, {"main": FILEINTO, "spare": KEEP}, active="spare")

    assert os.readlink(tmp_path / ".dovecot.sieve") == "sieve/spare.sieve"


def test_compiled_layout_has_the_binaries_dovecot_leaves(tmp_path: Path) -> None:
    layout = write_sieve_layout(
        tmp_path, {"main": FILEINTO, "spare": KEEP}, active="main", compiled=True
    )

    for binary in (layout.binary("main"), layout.binary("spare"), layout.active_binary):
        assert binary.read_bytes()[:4] == SVBIN_MAGIC, binary
    assert layout.active_binary == tmp_path / ".dovecot.svbin"
    # The sources are left as written.
    assert layout.script("main").read_text() == FILEINTO


def test_a_script_sievec_refuses_raises_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(SievecRefused, match="line 2"):
        write_sieve_layout(tmp_path, {"bad": "keep;\nfileintoo 1;\n"}, compiled=True)


def test_an_extension_off_by_default_compiles_when_named(tmp_path: Path) -> None:
    script = 'require "editheader";\naddheader "X-Filtered" "yes";\n'
    with pytest.raises(SievecRefused, match="editheader"):
        write_sieve_layout(tmp_path / "a", {"edit": script}, compiled=True)

    layout = write_sieve_layout(
        tmp_path / "b", {"edit": script}, compiled=True, extensions=["editheader"]
    )
    assert layout.binary("edit").read_bytes()[:4] == SVBIN_MAGIC


def test_an_active_name_without_its_script_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not among"):
        write_sieve_layout(tmp_path, {"main": KEEP}, active="other")


def test_a_path_is_not_a_script_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a script name"):
        write_sieve_layout(tmp_path, {"../escape": KEEP})
    assert not (tmp_path / "escape.sieve").exists()


def test_a_missing_sievec_fails_the_test_with_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-sieve"):
        sievec()
