"""The CLI tests' fixture: a fresh `mailroom init` directory (tests/support/installation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installation import Installation, make_installation


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    return make_installation(tmp_path / "mailroom")
