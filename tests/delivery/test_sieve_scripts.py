"""Finding an account's Sieve scripts in Pigeonhole's layout and compiling each version
once: the active link, a regular file, a dangling link, `.svbin` left alone, a script
that changes, one too large, one that does not compile, and include's safe names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.config.model import MailboxConfig
from mailroom.config.sieve import SieveConfig
from mailroom.delivery.sieve_delivery import SieveDelivery, SieveSettings
from mailroom.delivery.sieve_engine import SieveInterpreter
from mailroom.delivery.sieve_scripts import IncludeLoader, ScriptCache, script_name_problem
from mailroom.sieve import Script
from mailroom.sieve.context import ScriptScope

ADDRESS = "alice@example.org"
KEEP = b'require "fileinto";\nif header :contains "subject" "x" { fileinto "X"; }\n'


class Account:
    def __init__(self, root: Path) -> None:
        self.home = root / "mail" / "example.org" / "alice"
        self.scripts = self.home / "sieve"
        self.active = self.home / ".dovecot.sieve"

    def write(self, name: str, text: bytes, *, activate: bool = True) -> Path:
        self.scripts.mkdir(parents=True, exist_ok=True)
        path = self.scripts / f"{name}.sieve"
        path.write_bytes(text)
        if activate:
            if self.active.is_symlink() or self.active.exists():
                self.active.unlink()
            os.symlink(f"sieve/{name}.sieve", self.active)
        return path


def delivery(
    root: Path, config: SieveConfig | None = None, **settings: object
) -> SieveDelivery[Script]:
    config = config or SieveConfig()
    values = SieveSettings(config, MailboxConfig(), root, "mx.example.org", **settings)  # type: ignore[arg-type]
    return SieveDelivery(SieveInterpreter(config), values, mail=None)  # type: ignore[arg-type]


def test_the_active_link_names_the_script_that_runs(tmp_path: Path) -> None:
    account = Account(tmp_path)
    account.write("other", b"keep;\n", activate=False)
    account.write("main", KEEP)
    [found] = delivery(tmp_path).scripts_for(ADDRESS)
    assert found.name == "main" and found.script is not None and found.error is None


def test_a_regular_file_is_a_script_too(tmp_path: Path) -> None:
    account = Account(tmp_path)
    account.home.mkdir(parents=True)
    account.active.write_bytes(KEEP)
    [found] = delivery(tmp_path).scripts_for(ADDRESS)
    assert found.script is not None and found.name == ".dovecot.sieve"


def test_no_link_or_a_dangling_link_means_no_script(tmp_path: Path) -> None:
    account = Account(tmp_path)
    assert delivery(tmp_path).scripts_for(ADDRESS) == []
    account.home.mkdir(parents=True)
    os.symlink("sieve/gone.sieve", account.active)
    assert delivery(tmp_path).scripts_for(ADDRESS) == []


def test_a_compiled_svbin_is_left_alone(tmp_path: Path) -> None:
    account = Account(tmp_path)
    account.write("main", KEEP)
    svbin = account.scripts / "main.svbin"
    svbin.write_bytes(b"\x00not ours")
    before = svbin.stat()
    [found] = delivery(tmp_path).scripts_for(ADDRESS)
    assert found.script is not None
    after = svbin.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert sorted(p.name for p in account.scripts.iterdir()) == ["main.sieve", "main.svbin"]


def test_a_script_is_compiled_once_until_it_changes(tmp_path: Path) -> None:
    account = Account(tmp_path)
    path = account.write("main", KEEP)
    sieve = delivery(tmp_path)
    first = sieve.scripts_for(ADDRESS)
    second = sieve.scripts_for(ADDRESS)
    assert sieve.scripts.compilations == 1 and first[0] is second[0]
    path.write_bytes(KEEP + b"keep;\n")  # another size: another version
    sieve.scripts_for(ADDRESS)
    assert sieve.scripts.compilations == 2
    account.write("other", KEEP)  # the link now names another file
    sieve.scripts_for(ADDRESS)
    assert sieve.scripts.compilations == 3


def test_a_script_that_does_not_compile_names_its_line(tmp_path: Path) -> None:
    Account(tmp_path).write("broken", b'keep;\nfileinto "x";\n')
    [found] = delivery(tmp_path).scripts_for(ADDRESS)
    assert found.script is None and found.error is not None
    assert found.error.startswith("broken: line 2:")


def test_a_script_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    Account(tmp_path).write("big", b"keep;\n" + b"#" * 2000 + b"\n")
    [found] = delivery(tmp_path, SieveConfig(max_script_size=1000)).scripts_for(ADDRESS)
    assert found.script is None and found.error is not None
    assert "max_script_size" in found.error


def test_global_scripts_run_before_and_after_the_members_own(tmp_path: Path) -> None:
    Account(tmp_path).write("main", KEEP)
    (tmp_path / "before.sieve").write_bytes(b"keep;\n")
    (tmp_path / "after.sieve").write_bytes(b"keep;\n")
    sieve = delivery(
        tmp_path,
        before=(tmp_path / "before.sieve", tmp_path / "missing.sieve"),
        after=(tmp_path / "after.sieve",),
    )
    assert [c.name for c in sieve.scripts_for(ADDRESS)] == ["before", "main", "after"]
    assert [c.name for c in sieve.scripts_for("bob@example.org")] == ["before", "after"]


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    cache = ScriptCache[Script](
        SieveInterpreter(SieveConfig()).compile, max_script_size=1000, max_entries=3
    )
    for number in range(10):
        path = tmp_path / f"s{number}.sieve"
        path.write_bytes(b"keep;\n")
        assert cache.load(path, path.stem) is not None
    assert len(cache._entries) == 3


def test_include_finds_personal_and_global_scripts_by_safe_names(tmp_path: Path) -> None:
    personal, shared = tmp_path / "sieve", tmp_path / "global"
    personal.mkdir()
    shared.mkdir()
    (personal / "mine.sieve").write_bytes(b"keep;\n")
    (shared / "spam.sieve").write_bytes(b"discard;\n")
    (tmp_path / "secret.sieve").write_bytes(b"# not a script of the account\n")
    loader = IncludeLoader(personal, shared, max_size=1000)
    assert loader.load(ScriptScope.PERSONAL, "mine") == b"keep;\n"
    assert loader.load(ScriptScope.GLOBAL, "spam") == b"discard;\n"
    assert loader.load(ScriptScope.GLOBAL, "mine") is None
    for hostile in ("../secret", "..", ".hidden", "a/b", "", "x\0y", "/etc/passwd"):
        assert loader.load(ScriptScope.PERSONAL, hostile) is None
    assert IncludeLoader(personal, None, 1000).load(ScriptScope.GLOBAL, "spam") is None


@given(st.text(max_size=300))
def test_a_safe_script_name_is_one_path_component(name: str) -> None:
    if script_name_problem(name) is None:
        assert "/" not in name and "\0" not in name and not name.startswith(".")
        assert Path(f"{name}.sieve").name == f"{name}.sieve"


@pytest.mark.parametrize("name", ["vacation", "Räume", "rules-2026"])
def test_ordinary_names_are_safe(name: str) -> None:
    assert script_name_problem(name) is None
