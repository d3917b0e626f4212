"""The login cache on a running host, with real clients: an IMAP client's second LOGIN runs
no hash, and what an administrator does with the `mailroom` command in another process
(a new password, a disabled account) counts at the very next login all the same.

Whether a hash ran is read from the host's authenticator's counters (what a metrics
endpoint shows); the host runs in the test's process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.auth import Authenticator
from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk
from tests.support.installation import mailroom_process
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.pop3_talk import POP3_LISTENERS, Pop3Talk

ALICE = "alice@example.test"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """IMAP and POP3 listeners; the cache as shipped; a client banned on its 2nd failure."""
    settings = {"# max_failures_per_ip = 10": "max_failures_per_ip = 2"}
    async for running in start_host(tmp_path / "host", settings, listeners=POP3_LISTENERS):
        yield running


def authenticator(host: MailHost) -> Authenticator:
    return host.running.services.authenticator


async def imap_login(host: MailHost, password: str = PASSWORD, login: str = ALICE) -> bytes:
    """The tagged answer to LOGIN on a new implicit-TLS connection."""
    talk = await ImapTalk.open(host.port("imaps"), tls=client_tls())
    try:
        return (await talk.command(f'LOGIN {login} "{password}"')).tagged
    finally:
        await talk.close()


async def administer(host: MailHost, *args: str, stdin: str = "") -> None:
    """Run `mailroom ARGS` as its own process against the host's config."""
    config = str(host.root / "mailroom.toml")
    done = await asyncio.to_thread(mailroom_process, "-c", config, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr


async def test_a_second_imap_login_runs_no_hash(host: MailHost) -> None:
    stats = authenticator(host).stats
    assert (await imap_login(host)).startswith(b"a1 OK")
    assert (stats.hashes_verified, stats.cache_hits) == (1, 0)
    assert (await imap_login(host)).startswith(b"a1 OK")
    assert (stats.hashes_verified, stats.cache_hits) == (1, 1)


async def test_a_second_imap_login_reads_no_account_from_the_directory(host: MailHost) -> None:
    stats = authenticator(host).stats
    assert (await imap_login(host)).startswith(b"a1 OK")
    # One read for the login; opening the mailbox used the same record.
    assert stats.accounts_read == 1
    assert (await imap_login(host)).startswith(b"a1 OK")
    assert (stats.accounts_read, stats.hashes_verified) == (1, 1)


async def test_after_address_remove_the_address_no_longer_logs_in(host: MailHost) -> None:
    extra = "alice.liddell@example.test"
    assert (await imap_login(host, login=extra)).startswith(b"a1 OK")
    assert (await imap_login(host, login=extra)).startswith(b"a1 OK")
    await administer(host, "address", "remove", extra)
    assert (await imap_login(host, login=extra)).startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    assert (await imap_login(host)).startswith(b"a1 OK")


async def test_after_user_remove_the_cached_password_is_refused(host: MailHost) -> None:
    bob = "bob@example.test"
    assert (await imap_login(host, login=bob)).startswith(b"a1 OK")
    await administer(host, "alias", "remove", "pr@example.test")  # it forwards to bob
    await administer(host, "user", "remove", "--yes", bob)
    assert (await imap_login(host, login=bob)).startswith(b"a1 NO [AUTHENTICATIONFAILED]")


async def test_a_pop3_login_uses_what_an_imap_login_verified(host: MailHost) -> None:
    await imap_login(host)
    talk = await Pop3Talk.logged_in(host)
    await talk.close()
    assert authenticator(host).stats.hashes_verified == 1


async def test_after_passwd_the_cached_old_password_is_refused_at_once(host: MailHost) -> None:
    await imap_login(host)
    await administer(host, "user", "passwd", ALICE, "--password-stdin", stdin="new secret\n")
    assert (await imap_login(host)).startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    assert (await imap_login(host, "new secret")).startswith(b"a1 OK")
    assert authenticator(host).stats.cache_hits == 0


async def test_after_disable_the_cached_password_is_refused(host: MailHost) -> None:
    await imap_login(host)
    await administer(host, "user", "disable", ALICE)
    assert (await imap_login(host)).startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    await administer(host, "user", "enable", ALICE)
    assert (await imap_login(host)).startswith(b"a1 OK")


async def test_a_banned_address_is_refused_with_a_cached_password(host: MailHost) -> None:
    await imap_login(host)
    for _ in range(2):
        assert (await imap_login(host, "guess")).startswith(b"a1 NO")
    refused = await imap_login(host)
    assert refused.startswith(b"a1 NO"), refused
    assert authenticator(host).stats.cache_hits == 0


async def test_with_cache_ttl_0_every_login_runs_the_hash(tmp_path: Path) -> None:
    settings = {"# cache_ttl_seconds = 300": "cache_ttl_seconds = 0"}
    async for host in start_host(tmp_path / "host", settings, listeners=IMAP_LISTENERS):
        for expected_hashes in (1, 2, 3):
            assert (await imap_login(host)).startswith(b"a1 OK")
            assert authenticator(host).stats.hashes_verified == expected_hashes
        assert authenticator(host).stats.cache_hits == 0
