"""App passwords at the Authenticator: accepted on the mail clients' protocols only, as
the account they belong to; remembered by the login cache like a password, yet refused
at the very next login once revoked; a disabled account stays refused; the account's own
password still works; the last use noted once per interval, without a version bump."""

from __future__ import annotations

import logging

import pytest

from mailroom.auth import AuthOutcome
from mailroom.auth.app_passwords import app_password_text, new_secret
from mailroom.directory.passwords import PasswordHasher
from tests.support.auth_site import PASSWORD, MakeSite, Site, auth_config
from tests.support.fake_clock import FakeClock


@pytest.fixture
async def members(make_site: MakeSite, clock: FakeClock) -> Site:
    site = await make_site(clock=clock)
    await site.add("alice@example.org")
    await site.add("bob@example.org")
    return site


async def made(site: Site, address: str = "alice@example.org") -> str:
    secret = new_secret()
    hashed = PasswordHasher(auth_config().passwords).hash(secret)
    record = await site.directory.add_app_password(address, "phone", hashed)
    return app_password_text(record.id, secret)


async def test_an_app_password_logs_in_on_each_mail_protocol_and_nowhere_else(
    members: Site,
) -> None:
    password = await made(members)
    for protocol in ("imap", "pop3", "submission", "managesieve"):
        result = await members.login("alice@example.org", password, protocol=protocol)
        assert (result.outcome, result.account) == (AuthOutcome.SUCCESS, "alice@example.org")
    for protocol in ("web", "cli", "smtp"):
        result = await members.login("alice@example.org", password, protocol=protocol)
        assert result.outcome is AuthOutcome.BAD_PASSWORD


async def test_an_app_password_logs_in_only_to_its_own_account(members: Site) -> None:
    password = await made(members)
    result = await members.login("bob@example.org", password)
    assert result.outcome is AuthOutcome.BAD_PASSWORD


async def test_a_cached_app_password_is_refused_at_once_when_revoked(members: Site) -> None:
    password = await made(members)
    assert (await members.login("alice@example.org", password)).ok
    assert (await members.login("alice@example.org", password)).ok
    assert members.authenticator.stats.cache_hits == 1
    password_id = int(password.split("-", 1)[0])
    assert await members.directory.revoke_app_password("alice@example.org", password_id)
    result = await members.login("alice@example.org", password)
    assert result.outcome is AuthOutcome.BAD_PASSWORD


async def test_a_disabled_account_is_refused_with_its_app_password(members: Site) -> None:
    password = await made(members)
    await members.directory.set_enabled("alice@example.org", False)
    result = await members.login("alice@example.org", password)
    assert result.outcome is AuthOutcome.DISABLED


async def test_the_account_password_still_logs_in_beside_app_passwords(members: Site) -> None:
    await made(members)
    assert (await members.login("alice@example.org", PASSWORD)).ok


async def test_a_login_is_logged_with_the_app_password_id(
    members: Site, caplog: pytest.LogCaptureFixture
) -> None:
    password = await made(members)
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        await members.login("alice@example.org", password)
    [line] = [r.getMessage() for r in caplog.records if "result=ok" in r.getMessage()]
    assert f"app_password={password.split('-', 1)[0]}" in line
    assert password.split("-", 1)[1] not in line


async def test_the_last_use_is_written_once_per_interval(members: Site, clock: FakeClock) -> None:
    password = await made(members)
    version = await members.directory.version()
    assert (await members.login("alice@example.org", password)).ok
    [first] = await members.directory.app_passwords("alice@example.org")
    assert first.last_used is not None
    assert (await members.login("alice@example.org", password)).ok
    [second] = await members.directory.app_passwords("alice@example.org")
    assert second.last_used == first.last_used
    clock.advance(301)
    assert (await members.login("alice@example.org", password)).ok
    [third] = await members.directory.app_passwords("alice@example.org")
    assert third.last_used is not None and third.last_used > first.last_used
    assert await members.directory.version() == version
