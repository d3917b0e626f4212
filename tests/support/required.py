"""What a test needs from the machine (a Debian tool, root): missing, the test fails with
the hint that mends it, in CI and everywhere else; it never skips. `.ci/run` installs
every tool the suite needs, and CI runs as root."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def missing(hint: str) -> NoReturn:
    """Fail the test: something it needs is not on this machine (`hint` says what to do)."""
    pytest.fail(f"{hint} (.ci/run installs what the suite needs)", pytrace=False)


def required_tool(name: str, package: str) -> str:
    """The path of the program `name`, which Debian's `package` installs."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} not found: apt-get install {package}")
    return found


def require_root(why: str) -> None:
    """The test runs as root (`why`: what it does that needs it)."""
    if os.geteuid() != 0:
        missing(f"this test {why}: run it as root")
