"""The ManageSieve tests' fixture: a running Mailroom host with a 4190-style listener
(STARTTLS) and a 2001-style one (no TLS, the "webmail" address only), and a master
user "webmail" allowed from that address; helpers are in
tests/support/managesieve_talk.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.config.model import PasswordHashing
from mailroom.directory.passwords import PasswordHasher
from tests.support.mail_host import MailHost, start_host
from tests.support.managesieve_talk import MANAGESIEVE_LISTENERS, WEBMAIL, WEBMAIL_SETTINGS

MASTER_PASSWORD = "webmail master secret"


def master_user_settings() -> dict[str, str]:
    hashed = PasswordHasher(PasswordHashing(time_cost=1, memory_kib=64, parallelism=1)).hash(
        MASTER_PASSWORD
    )
    return {
        "# [[auth.master_users]]": (
            f'[[auth.master_users]]\nname = "webmail"\npassword_hash = "{hashed}"\n'
            f'networks = ["{WEBMAIL}/32"]'
        )
    }


@pytest.fixture
async def sieve_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    settings = {**WEBMAIL_SETTINGS, **master_user_settings()}
    async for host in start_host(tmp_path / "host", settings, listeners=MANAGESIEVE_LISTENERS):
        yield host
