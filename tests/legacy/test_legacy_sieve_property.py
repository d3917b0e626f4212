"""The readers of a legacy home's Sieve scripts and of the --copy-to destination take
anything: hostile file names (any bytes but '/' and NUL, pysieved's URL-quoting of
anything), hostile script texts, links pointing anywhere. Never a crash; only scripts
that compile and whose names are script names are imported, byte for byte; nothing is
written outside the account's script directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.legacy.maildir_copy import CopyError, copy_template
from mailroom.legacy.sieve_import import find_legacy_scripts, import_scripts
from mailroom.sieve import SieveLimits, check_script
from mailroom.store import ScriptQuota, SieveLocation, SieveScripts, script_name_problem

FILE_NAMES = st.binary(min_size=1, max_size=60).filter(
    lambda name: b"/" not in name and b"\0" not in name and name not in (b".", b"..")
)
TEXTS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b'require "fileinto";\nfileinto "INBOX.x";\n',
            b"keep;",
            b'require ["vacation"]; vacation "x";',
            b"if true { stop; }",
            b"\xff\xfe",
        ]
    ),
)
LIMITS = SieveLimits(max_script_size=4096)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([".pysieved", "sieve"]), FILE_NAMES, TEXTS), max_size=8),
    st.one_of(st.none(), st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b)),
)
def test_importing_a_hostile_home_never_crashes_nor_escapes(
    files: list[tuple[str, bytes, bytes]], link: bytes | None
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        for directory in (".pysieved", "sieve"):
            (home / directory).mkdir(parents=True)
        for directory, name, text in files:
            (home / directory).joinpath(os.fsdecode(name)).write_bytes(text)
        if link is not None:
            os.symlink(link, home / ".dovecot.sieve")
        target = Path(scratch) / "target"
        scripts = SieveScripts(
            SieveLocation(target / "sieve", target / ".dovecot.sieve"),
            ScriptQuota(max_scripts=32, max_storage=1 << 20, max_script_size=4096),
        )

        legacy = find_legacy_scripts(home)
        result = import_scripts(legacy, scripts, LIMITS, dry_run=False)

        written = sorted(p.name for p in target.rglob("*")) if target.exists() else []
        expected = {
            script.name + ".sieve"
            for script in legacy.scripts
            if script_name_problem(script.name) is None
            and check_script(script.path.read_bytes(), name=script.name, limits=LIMITS) is None
        }
        imported = {
            name for name in written if name.endswith(".sieve") and name != ".dovecot.sieve"
        }
        assert imported <= expected
        assert result.created == len(imported)
        for info in scripts.list():
            source = next(s for s in legacy.scripts if s.name == info.name)
            assert scripts.get(info.name) == source.path.read_bytes()
        assert all(p.resolve().is_relative_to(target.resolve()) for p in target.rglob("*.sieve"))


@given(st.text(max_size=60), st.text(max_size=40))
def test_a_copy_template_stays_below_the_destination(template: str, destination: str) -> None:
    where = Path("/" + destination.replace("\0", ""))
    try:
        copied = copy_template(template, where)
    except CopyError as error:
        assert "\n" not in str(error) or "\n" in template + destination
        return
    assert copied.startswith(str(where).rstrip("/") + "/")
    assert copied.count("%") == template[template.rfind("/", 0, template.find("%")) + 1 :].count(
        "%"
    )
