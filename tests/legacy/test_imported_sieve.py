"""After `mailroom import legacy`, a member's pysieved script filters mail as Dovecot's
LDA did: the script kept in `~/.pysieved/` and made active there is found, imported and
run at delivery by the served host, from its new place."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom import app
from tests.legacy.conftest import LegacyHost
from tests.legacy.test_imported_host import _imported_host, _send

FILING = b'require "fileinto";\r\nfileinto "Lists";\r\n'


@pytest.fixture
async def host(tmp_path: Path, legacy_host: LegacyHost) -> AsyncIterator[app.RunningHost]:
    home = Path(legacy_host.maildirs.replace("%n", "jdoe")).parent
    (home / ".pysieved").mkdir()
    (home / ".pysieved" / "lists").write_bytes(FILING)
    (home / ".dovecot.sieve").symlink_to(".pysieved/lists")
    lists = home / "Maildir" / ".Lists"
    for sub in ("cur", "new", "tmp"):
        (lists / sub).mkdir(parents=True)
    (lists / "maildirfolder").touch()
    async for running in _imported_host(tmp_path / "mailroom", legacy_host):
        yield running


async def test_the_imported_pysieved_script_files_mail_at_delivery(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    maildir = Path(legacy_host.maildirs.replace("%n", "jdoe"))
    # pysieved is gone after the switch: the script runs from where the import put it.
    shutil.rmtree(maildir.parent / ".pysieved")
    await _send(host, ["jdoe@cacert.org"])
    filed = [p for sub in ("new", "cur") for p in (maildir / ".Lists" / sub).iterdir()]
    assert len(filed) == 1
    assert not list((maildir / "new").iterdir())
