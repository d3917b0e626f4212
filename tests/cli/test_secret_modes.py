"""Secrets at rest: what `mailroom` creates (the config, the SQLite directory, the TLS
key, a DKIM key, the SRS secret) is read by no other local user, and `mailroom config
check` names each secret file whose mode lets one read it.

The other user is `nobody`, reading through `setpriv` (the tests run as root; in CI a
test that cannot run so fails). The directories on the way are opened to everyone
first, so that only each file's own mode stands in the reader's way; a file left
0644 beside them is read, which shows the reader would see a secret if it could."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.installation import Installation, mailroom_process, make_installation
from tests.support.required import require_root, required_tool

READER = """
import json, sys
result = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as file:
            file.read(1)
        result[path] = "read"
    except OSError as error:
        result[path] = type(error).__name__
print(json.dumps(result))
"""
SYSTEM_PYTHON = "/usr/bin/python3"


def other_user_reads(paths: list[Path]) -> dict[str, str]:
    """What user nobody gets opening each path: "read" or the error's name."""
    require_root("reads files as user nobody")
    command = [
        required_tool("setpriv", "util-linux"),
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
    ]
    result = subprocess.run(
        [*command, SYSTEM_PYTHON, "-c", READER, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A directory every user may pass through (pytest's tmp_path is root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="mailroom-secrets-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def open_directories(root: Path) -> None:
    for directory in [root, *(path for path in root.rglob("*") if path.is_dir())]:
        directory.chmod(0o755)


def served_once(site: Installation) -> None:
    """`mailroom serve` started and stopped (it makes the SRS secret, migrates the
    directory), on loopback ports of its own choosing."""
    text = site.config.read_text()
    site.config.write_text(re.sub(r'address = "\[::\]:\d+"', 'address = "127.0.0.1:0"', text))
    process = subprocess.Popen(
        [
            *mailroom_command(),
            "-c",
            str(site.config),
            "serve",
            "--as-root",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("running"):
                break
        else:
            raise AssertionError(
                f"serve did not start: {process.stderr.read() if process.stderr else ''}"
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def mailroom_command() -> list[str]:
    return [sys.executable, "-m", "mailroom"]


def test_a_second_local_user_reads_no_secret(open_root: Path) -> None:
    root = open_root / "host"
    made = mailroom_process("init", str(root), "--hostname", "mail.example.test")
    assert made.returncode == 0, made.stderr
    site = Installation(root)
    keygen = site.run_process("dkim", "keygen", "example.test")
    assert keygen.returncode == 0, keygen.stderr
    served_once(site)
    secrets = [
        root / "mailroom.toml",
        root / "directory.sqlite3",
        root / "tls" / "key.pem",
        *sorted((root / "dkim").glob("*.key")),
        root / "data" / "srs.secret",
    ]
    assert all(path.is_file() for path in secrets), [p for p in secrets if not p.is_file()]
    assert len(secrets) == 5
    open_directories(root)
    public = root / "public.txt"
    public.write_text("anyone may read this\n")
    public.chmod(0o644)
    outcome = other_user_reads([public, *secrets])
    assert outcome.pop(str(public)) == "read"
    assert outcome == {str(path): "PermissionError" for path in secrets}
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 in (0, 0o040), path


def test_config_check_names_each_secret_other_users_could_read(tmp_path: Path) -> None:
    site = make_installation(tmp_path / "host")  # in this process: this umask's modes
    database = tmp_path / "host" / "directory.sqlite3"
    for path in (site.config, tmp_path / "host" / "tls" / "key.pem", database):
        path.chmod(0o640)
    quiet = site.run("config", "check")
    assert quiet.returncode == 0, quiet.stderr
    assert "warning" not in quiet.stdout
    site.config.chmod(0o644)
    (tmp_path / "host" / "tls" / "key.pem").chmod(0o604)
    result = site.run("config", "check")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {site.config} (the config) has mode 0644: other local users may read it; "
        "chmod 0640 (or 0600) it",
        f"warning: {tmp_path / 'host' / 'tls' / 'key.pem'} (a TLS key) has mode 0604: other "
        "local users may read it; chmod 0640 (or 0600) it",
    ]
