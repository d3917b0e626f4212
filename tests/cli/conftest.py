"""The CLI tests' fixture: a fresh `mailroom init` directory (tests/support/installation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installation import Installation, make_installation, use_cheap_password_hashing


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    """With the cheapest argon2id costs: no CLI test is about the hash's cost."""
    return use_cheap_password_hashing(make_installation(tmp_path / "mailroom"))
