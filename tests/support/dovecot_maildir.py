"""A Maildir as Dovecot 2.3 left it (tests/store/fixtures), for tests of switching over
from Dovecot."""

from __future__ import annotations

from pathlib import Path

FIXTURE = Path(__file__).parent.parent / "store" / "fixtures" / "dovecot-2.3" / "Maildir"
