"""Running the real `mailroom` command, as an administrator would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Installation:
    """A `mailroom init` directory and a way to run commands against it."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "mailroom.toml"

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return mailroom("-c", str(self.config), *args, stdin=stdin)


def mailroom(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
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
    result = mailroom("init", str(root), "--hostname", "mail.example.test", *extra)
    assert result.returncode == 0, result.stderr
    return Installation(root)


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    return make_installation(tmp_path / "mailroom")
