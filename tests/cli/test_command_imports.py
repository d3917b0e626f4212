"""A command loads what it uses: `mailroom user list` imports the directory, not the
protocol servers, the web admin or the import tools. Importing all of them cost every
command about 1.5 s of CPU on the 2-core CI machine (3.0 s where 1.5 s now), and the
suite runs hundreds of commands as processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.installation import Installation

LOADED_AFTER = """
import sys
from mailroom.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print(" ".join(sorted(sys.modules)))
"""
"""Runs `mailroom ARGS` as `python -m mailroom` would, then prints every module loaded."""

SERVING_ONLY = (
    "mailroom.imap",
    "mailroom.smtp",
    "mailroom.pop3",
    "mailroom.managesieve",
    "mailroom.sieve",
    "mailroom.web",
    "mailroom.legacy",
    "mailroom.app.host",
    "mailroom.app.services",
    "redis",
    "uvicorn",
    "starlette",
    "jinja2",
)
"""Packages and modules only `serve` (or `import`) needs."""


def loaded_by(installation: Installation, *command: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, "-c", str(installation.config), *command],
        input="a password\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].split())


@pytest.mark.parametrize(
    "command",
    [
        ("user", "list"),
        ("domain", "add", "example.test"),
        ("alias", "list"),
        ("queue", "list"),
        ("auth", "hash", "--password-stdin"),
    ],
    ids=" ".join,
)
def test_a_command_imports_no_protocol_server(
    installation: Installation, command: tuple[str, ...]
) -> None:
    loaded = loaded_by(installation, *command)
    serving = sorted(
        name
        for name in loaded
        if any(name == part or name.startswith(part + ".") for part in SERVING_ONLY)
    )
    assert serving == []


def test_serve_is_loaded_when_asked_for(installation: Installation) -> None:
    """The check above can fail: the same run of `--help` lists every command, and so
    imports `serve`'s module, which needs the whole host."""
    loaded = loaded_by(installation, "--help")
    assert "mailroom.cli.serve" in loaded
