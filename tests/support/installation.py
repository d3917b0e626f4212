"""Running the `mailroom` command as an administrator would: in-process through typer's
test runner (the same command functions, fast), or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from mailroom.cli import app


@dataclass
class Installation:
    """A `mailroom init` directory and a way to run commands against it."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "mailroom.toml"

    def run(self, *args: str, stdin: str | None = None) -> Outcome:
        return invoke("-c", str(self.config), *args, stdin=stdin)

    def run_process(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return mailroom_process("-c", str(self.config), *args, stdin=stdin)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, stdin: str | None = None) -> Outcome:
    """Run `mailroom ARGS` in this process; exceptions other than exits fail the test."""
    result = CliRunner().invoke(app, list(args), input=stdin or "", env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def mailroom_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MAILROOM_CONFIG"}
    environment["COLUMNS"] = "200"  # rich wraps tables to the terminal width
    return subprocess.run(
        [sys.executable, "-m", "mailroom", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def make_installation(root: Path, *extra: str) -> Installation:
    result = invoke("init", str(root), "--hostname", "mail.example.test", *extra)
    assert result.returncode == 0, result.stderr
    return Installation(root)


CHEAP_PASSWORD_HASHING = {
    "# time_cost = 3": "time_cost = 1",
    "# memory_kib = 65536": "memory_kib = 64",
    "# parallelism = 4": "parallelism = 1",
}
"""The `[auth.passwords]` lines `mailroom init` writes (its defaults, commented out), and the
cheapest argon2id costs, as tests/support/mail_host.py's hosts have them."""


def use_cheap_password_hashing(installation: Installation) -> Installation:
    """The installation's argon2id at the cheapest costs, for tests whose point is not the
    hash: at the shipped costs (64 MiB, 3 passes, 4 lanes) each `user add`, `passwd` and
    `auth test` costs ~0.3 s of a core, and a test runs several on each backend. The
    shipped costs are what tests/auth tests (wrapping, re-hashing, the login cache)."""
    text = installation.config.read_text()
    for shipped, cheap in CHEAP_PASSWORD_HASHING.items():
        assert shipped in text
        text = text.replace(shipped, cheap, 1)
    installation.config.write_text(text)
    return installation
