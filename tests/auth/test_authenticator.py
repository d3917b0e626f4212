"""The Authenticator against a real directory (SQLite; the basic path on every backend):
members log in the way the legacy host let them, master users only from their networks,
and guessers learn nothing and are slowed, then banned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest

from mailroom.auth import (
    Authenticator,
    AuthOutcome,
    AuthRequest,
    Credentials,
    MemoryThrottle,
)
from mailroom.directory import Directory
from tests.support.auth_site import (
    ELSEWHERE,
    HOME,
    MASTER_PASSWORD,
    PASSWORD,
    WEBMAIL,
    MakeSite,
    Site,
    auth_config,
    master,
    throttle_config,
)
from tests.support.directories import open_directory
from tests.support.fake_clock import FakeClock
from tests.support.password_hashes import CHEAP, LEGACY_HASH, hashes_of


def auth_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mailroom.auth"]


# Members


async def test_the_right_password_logs_in_as_the_account(site: Site) -> None:
    result = await site.login("alice@example.org", PASSWORD)
    assert (result.ok, result.outcome, result.account) == (
        True,
        AuthOutcome.SUCCESS,
        "alice@example.org",
    )
    assert (result.master, result.delay_seconds) == (None, 0.0)


async def test_the_login_is_an_address_in_any_case(site: Site) -> None:
    assert (await site.login("  Alice@EXAMPLE.org", PASSWORD)).account == "alice@example.org"


async def test_a_wrong_password_is_refused(site: Site) -> None:
    result = await site.login("alice@example.org", "correct horse")
    assert (result.ok, result.outcome, result.account) == (False, AuthOutcome.BAD_PASSWORD, None)
    assert result.reason == "wrong password for alice@example.org"


async def test_an_unknown_account_is_refused_as_unknown(site: Site) -> None:
    result = await site.login("nobody@example.org", PASSWORD)
    assert result.outcome is AuthOutcome.UNKNOWN_USER
    assert "unknown account nobody@example.org" in result.reason


async def test_a_disabled_account_is_refused_once_its_password_was_right(site: Site) -> None:
    right = await site.login("dave@example.org", PASSWORD)
    assert (right.outcome, right.account) == (AuthOutcome.DISABLED, None)
    assert "disabled" in right.reason
    # A guesser with a wrong password learns nothing about the account being disabled.
    assert (await site.login("dave@example.org", "guess")).outcome is AuthOutcome.BAD_PASSWORD


async def test_an_account_logs_in_by_any_of_its_addresses(site: Site) -> None:
    await site.directory.add_address("alice@example.org", "alice.smith@example.org")
    result = await site.login("Alice.Smith@example.org", PASSWORD)
    assert (result.outcome, result.account) == (AuthOutcome.SUCCESS, "alice@example.org")


async def test_an_alias_is_no_login(site: Site) -> None:
    await site.directory.add_alias("team@example.org", ["alice@example.org"])
    assert (await site.login("team@example.org", PASSWORD)).outcome is AuthOutcome.UNKNOWN_USER


async def test_legacy_members_log_in_with_the_bare_user_name(make_site: MakeSite) -> None:
    site = await make_site(default_domain="Example.ORG")
    await site.add("alice@example.org")
    result = await site.login("alice", PASSWORD)
    assert (result.outcome, result.account) == (AuthOutcome.SUCCESS, "alice@example.org")
    assert (await site.login("alice@example.org", PASSWORD)).ok


async def test_without_a_default_domain_a_bare_user_name_is_an_invalid_login(site: Site) -> None:
    result = await site.login("alice", PASSWORD)
    assert result.outcome is AuthOutcome.INVALID_REQUEST
    assert "not an address" in result.reason


@pytest.mark.parametrize(
    "login", ["alice@@example.org", "", "a" * 2000, "ali\x00ce@example.org", "ali ce@example.org"]
)
async def test_malformed_logins_are_invalid_requests(site: Site, login: str) -> None:
    assert (await site.login(login, PASSWORD)).outcome is AuthOutcome.INVALID_REQUEST


async def test_a_star_in_an_address_is_no_master_login_without_such_a_master(
    make_site: MakeSite,
) -> None:
    site = await make_site(master_users=[master()])
    await site.add("a*b@example.org")
    result = await site.login("a*b@example.org", PASSWORD)
    assert (result.outcome, result.account, result.master) == (
        AuthOutcome.SUCCESS,
        "a*b@example.org",
        None,
    )


async def test_an_unusable_stored_hash_refuses_and_says_how_to_fix_it(site: Site) -> None:
    await site.add("carol@example.org", stored="!")
    result = await site.login("carol@example.org", PASSWORD)
    assert result.outcome is AuthOutcome.BAD_PASSWORD
    assert "mailroom user passwd carol@example.org" in result.reason


async def test_a_plain_text_password_in_the_hash_column_is_never_compared(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    await site.add("imported@example.org", stored="{PLAIN}secret")
    result = await site.login("imported@example.org", "secret")
    assert result.outcome is AuthOutcome.BAD_PASSWORD
    assert "{PLAIN} is not supported" in result.reason
    [record] = [r for r in caplog.records if r.name == "mailroom.auth"]
    assert record.levelno == logging.WARNING
    assert "reason=unusable_password_hash" in record.getMessage()


# Every scheme a migrated database may hold


@pytest.mark.parametrize("scheme", sorted(hashes_of("x")))
async def test_each_stored_scheme_logs_in_with_its_password_only(site: Site, scheme: str) -> None:
    await site.add("migrated@example.org", stored=hashes_of(PASSWORD)[scheme])
    assert (await site.login("migrated@example.org", PASSWORD)).ok
    wrong = await site.login("migrated@example.org", PASSWORD.upper())
    assert wrong.outcome is AuthOutcome.BAD_PASSWORD


async def test_the_legacy_hosts_hash_logs_in_with_secret(make_site: MakeSite) -> None:
    site = await make_site(default_domain="example.org")
    await site.add("legacy@example.org", stored=LEGACY_HASH)
    assert (await site.login("legacy", "secret2")).outcome is AuthOutcome.BAD_PASSWORD
    assert (await site.login("legacy", "secret")).ok


# Hash upgrades


async def test_an_old_hash_becomes_argon2id_at_login_and_the_password_still_works(
    make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    site = await make_site()
    await site.add("legacy@example.org", stored=LEGACY_HASH)

    assert (await site.login("legacy@example.org", "secret")).ok

    upgraded = await site.stored_hash("legacy@example.org")
    assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert "hash_upgrade=md5-crypt->argon2id" in auth_lines(caplog)[-1]
    assert (await site.login("legacy@example.org", "secret")).ok
    assert await site.stored_hash("legacy@example.org") == upgraded  # once is enough
    assert (await site.login("legacy@example.org", "wrong")).outcome is AuthOutcome.BAD_PASSWORD


async def test_argon2id_with_outdated_costs_is_rehashed_with_the_current_ones(
    make_site: MakeSite,
) -> None:
    site = await make_site()
    await site.add("alice@example.org", stored=hashes_of(PASSWORD)["{ARGON2I}"])
    await site.login("alice@example.org", PASSWORD)
    assert (await site.stored_hash("alice@example.org")).startswith("$argon2id$")


async def test_no_upgrade_when_upgrade_on_login_is_off(make_site: MakeSite) -> None:
    site = await make_site(passwords=CHEAP.model_copy(update={"upgrade_on_login": False}))
    await site.add("legacy@example.org", stored=LEGACY_HASH)
    assert (await site.login("legacy@example.org", "secret")).ok
    assert await site.stored_hash("legacy@example.org") == LEGACY_HASH


async def test_no_upgrade_for_a_wrong_password_or_a_disabled_account(site: Site) -> None:
    await site.add("legacy@example.org", stored=LEGACY_HASH)
    await site.add("gone@example.org", stored=LEGACY_HASH, enabled=False)
    await site.login("legacy@example.org", "wrong")
    await site.login("gone@example.org", "secret")
    assert await site.stored_hash("legacy@example.org") == LEGACY_HASH
    assert await site.stored_hash("gone@example.org") == LEGACY_HASH


# Master users


@pytest.fixture
async def masters(make_site: MakeSite) -> Site:
    """Alice, Dave (disabled) and the master user `webmail`, allowed from WEBMAIL only."""
    site = await make_site(master_users=[master()], default_domain="example.org")
    await site.add("alice@example.org")
    await site.add("dave@example.org", enabled=False)
    return site


async def test_a_master_logs_in_as_any_account_from_its_network(masters: Site) -> None:
    result = await masters.login("alice@example.org*webmail", MASTER_PASSWORD, ip=WEBMAIL)
    assert (result.outcome, result.account, result.master) == (
        AuthOutcome.SUCCESS,
        "alice@example.org",
        "webmail",
    )
    assert "through master user webmail" in result.reason


async def test_a_master_login_takes_the_bare_user_name_too(masters: Site) -> None:
    result = await masters.login("alice*webmail", MASTER_PASSWORD, ip=WEBMAIL)
    assert result.account == "alice@example.org"


async def test_a_master_logs_in_through_the_sasl_authzid(masters: Site) -> None:
    result = await masters.login("webmail", MASTER_PASSWORD, authzid="alice", ip=WEBMAIL)
    assert (result.outcome, result.account, result.master) == (
        AuthOutcome.SUCCESS,
        "alice@example.org",
        "webmail",
    )


async def test_a_master_from_an_ipv4_mapped_address_is_recognised(masters: Site) -> None:
    result = await masters.login("alice*webmail", MASTER_PASSWORD, ip=f"::ffff:{WEBMAIL}")
    assert result.ok


async def test_a_master_is_refused_outside_its_networks_even_with_its_password(
    masters: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    result = await masters.login("alice*webmail", MASTER_PASSWORD, ip=ELSEWHERE)
    assert (result.outcome, result.account, result.master) == (
        AuthOutcome.MASTER_NOT_ALLOWED,
        None,
        "webmail",
    )
    assert result.reason == (
        f"master user webmail may not log in from {ELSEWHERE} (allowed: {WEBMAIL}/32)"
    )
    assert [r.levelno for r in caplog.records if r.name == "mailroom.auth"] == [logging.WARNING]
    via_sasl = await masters.login("webmail", MASTER_PASSWORD, authzid="alice", ip=ELSEWHERE)
    assert via_sasl.outcome is AuthOutcome.MASTER_NOT_ALLOWED


async def test_a_master_with_a_wrong_password_is_refused(masters: Site) -> None:
    result = await masters.login("alice*webmail", "guess", ip=WEBMAIL)
    assert (result.outcome, result.master) == (AuthOutcome.BAD_PASSWORD, "webmail")
    assert result.reason == "wrong password for master user webmail"


async def test_the_accounts_own_password_is_no_master_password(masters: Site) -> None:
    result = await masters.login("alice*webmail", PASSWORD, ip=WEBMAIL)
    assert result.outcome is AuthOutcome.BAD_PASSWORD


async def test_a_master_cannot_log_in_as_an_unknown_or_disabled_account(masters: Site) -> None:
    unknown = await masters.login("nobody*webmail", MASTER_PASSWORD, ip=WEBMAIL)
    disabled = await masters.login("dave*webmail", MASTER_PASSWORD, ip=WEBMAIL)
    assert (unknown.outcome, disabled.outcome) == (AuthOutcome.UNKNOWN_USER, AuthOutcome.DISABLED)


async def test_an_unknown_master_name_is_just_a_wrong_login(masters: Site) -> None:
    result = await masters.login("alice@example.org*nosuch", MASTER_PASSWORD, ip=WEBMAIL)
    assert (result.outcome, result.master) == (AuthOutcome.INVALID_REQUEST, None)


async def test_a_refused_master_login_counts_as_a_failure(make_site: MakeSite) -> None:
    throttle = MemoryThrottle(throttle_config(max_failures_per_ip=1, delay_base_seconds=0))
    site = await make_site(throttle, master_users=[master()])
    await site.add("alice@example.org")
    await site.login("alice@example.org*webmail", MASTER_PASSWORD, ip=ELSEWHERE)
    refused = await site.login("alice@example.org", PASSWORD, ip=ELSEWHERE)
    assert refused.outcome is AuthOutcome.THROTTLED


async def test_a_master_hash_that_cannot_be_verified_stops_the_start(directory: Directory) -> None:
    broken = master().model_copy(update={"password_hash": "hunter2"})
    with pytest.raises(ValueError, match=r"auth\.master_users\[1\]\.password_hash") as raised:
        Authenticator(directory, auth_config(master_users=[master("other"), broken]))
    assert "hunter2" not in str(raised.value)


async def test_a_default_domain_that_is_no_domain_stops_the_start(directory: Directory) -> None:
    with pytest.raises(ValueError, match=r"auth\.default_domain"):
        Authenticator(directory, auth_config(default_domain="not a domain"))


# SASL authzid without a master


async def test_an_authzid_naming_the_same_account_is_accepted(site: Site) -> None:
    await site.directory.add_address("alice@example.org", "al@example.org")
    assert (await site.login("alice@example.org", PASSWORD, authzid="alice@example.org")).ok
    assert (await site.login("al@example.org", PASSWORD, authzid="ALICE@example.org")).ok


async def test_an_authzid_naming_another_account_is_an_invalid_request(site: Site) -> None:
    await site.add("bob@example.org")
    result = await site.login("alice@example.org", PASSWORD, authzid="bob@example.org")
    assert (result.outcome, result.account) == (AuthOutcome.INVALID_REQUEST, None)
    assert "may not act as bob@example.org" in result.reason


# Throttling


@pytest.fixture
async def guarded(make_site: MakeSite, clock: FakeClock) -> Site:
    """Alice (with the legacy hash), behind a throttle that bans on the third failure."""
    throttle = MemoryThrottle(
        throttle_config(
            max_failures_per_ip=3,
            max_failures_per_account=5,
            ban_seconds=60,
            delay_base_seconds=1,
            delay_max_seconds=3,
        ),
        clock=clock,
    )
    site = await make_site(throttle)
    await site.add("alice@example.org", stored=LEGACY_HASH)
    return site


async def test_failures_are_answered_ever_later(guarded: Site) -> None:
    delays = [(await guarded.login("alice@example.org", "guess")).delay_seconds for _ in range(2)]
    assert delays == [1.0, 2.0]
    assert (await guarded.login("alice@example.org", "secret")).delay_seconds == 0.0


async def test_a_banned_client_is_refused_even_with_the_right_password(guarded: Site) -> None:
    for _ in range(3):
        await guarded.login("alice@example.org", "guess")
    result = await guarded.login("alice@example.org", "secret")
    assert (result.outcome, result.delay_seconds) == (AuthOutcome.THROTTLED, 0.0)
    assert result.reason == f"client {HOME} is banned for another 60 s after repeated failed logins"
    # Nothing was verified: the right password would have upgraded the legacy hash.
    assert await guarded.stored_hash("alice@example.org") == LEGACY_HASH


async def test_the_ban_lifts_with_time(guarded: Site, clock: FakeClock) -> None:
    for _ in range(3):
        await guarded.login("alice@example.org", "guess")
    clock.advance(60)
    assert (await guarded.login("alice@example.org", "secret")).ok


async def test_guessing_unknown_accounts_gets_banned_too(guarded: Site) -> None:
    for name in ("root", "admin", "test"):
        await guarded.login(f"{name}@example.org", "123456")
    assert (await guarded.login("alice@example.org", "secret")).outcome is AuthOutcome.THROTTLED


async def test_a_botnet_locks_the_account_for_strangers_but_not_for_its_owner(
    guarded: Site,
) -> None:
    assert (await guarded.login("alice@example.org", "secret", ip=HOME)).ok
    for host in range(5):
        await guarded.login("alice@example.org", "guess", ip=f"203.0.113.{host}")
    stranger = await guarded.login("alice@example.org", "secret", ip="192.0.2.99")
    assert (stranger.outcome, stranger.reason.split(" is ")[0]) == (
        AuthOutcome.THROTTLED,
        "account alice@example.org",
    )
    assert (await guarded.login("alice@example.org", "secret", ip=HOME)).ok


async def test_failures_through_any_address_of_an_account_count_together(
    guarded: Site,
) -> None:
    await guarded.directory.add_address("alice@example.org", "al@example.org")
    for host in range(5):
        login = "al@example.org" if host % 2 else "alice@example.org"
        await guarded.login(login, "guess", ip=f"203.0.113.{host}")
    result = await guarded.login("al@example.org", "secret", ip="192.0.2.99")
    assert result.outcome is AuthOutcome.THROTTLED


async def test_an_ipv6_client_hopping_inside_its_64_is_one_client(guarded: Site) -> None:
    for host in range(3):
        await guarded.login("alice@example.org", "guess", ip=f"2001:db8:5:6::{host + 1}")
    result = await guarded.login("alice@example.org", "secret", ip="2001:db8:5:6:abcd::99")
    assert result.outcome is AuthOutcome.THROTTLED


# Logs


async def test_each_decision_is_one_line_of_key_value_pairs(
    masters: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    await masters.login("alice@example.org", "guess")
    await masters.login(
        "alice@example.org*webmail", MASTER_PASSWORD, ip=WEBMAIL, protocol="managesieve"
    )
    assert auth_lines(caplog) == [
        f"auth: protocol=imap client={HOME} login=alice@example.org result=fail "
        "reason=bad_password delay=0.0",
        f"auth: protocol=managesieve client={WEBMAIL} login=alice@example.org*webmail "
        "master=webmail result=ok account=alice@example.org",
    ]


async def test_a_hostile_login_cannot_forge_log_lines_or_fields(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    await site.login("x result=ok\nauth: protocol=imap result=ok", "guess")
    [line] = auth_lines(caplog)
    assert "\n" not in line
    assert 'login="x result=ok\\nauth: protocol=imap result=ok" result=fail' in line


async def test_the_password_never_reaches_the_logs(
    masters: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Tr0ub4dor&3-never-logged"
    await masters.add("bob@example.org", secret)
    await masters.add("legacy@example.org", stored=hashes_of(secret)["sha512-crypt"])
    attempts = [
        ("bob@example.org", HOME, ""),  # success
        ("legacy@example.org", HOME, ""),  # success with a hash upgrade
        ("alice@example.org", HOME, ""),  # wrong password
        ("nobody@example.org", HOME, ""),  # unknown
        ("dave@example.org", HOME, ""),  # disabled, wrong password
        ("bob*webmail", ELSEWHERE, ""),  # master, wrong password, outside
        ("webmail", HOME, "bob"),  # master through authzid, wrong password
        ("bob@example.org", HOME, "alice@example.org"),  # authzid mismatch
        ("not an address", HOME, ""),  # invalid
    ]
    results = [
        await masters.login(login, secret, ip=ip, authzid=authzid)
        for login, ip, authzid in attempts
    ]
    assert len(auth_lines(caplog)) == len(attempts)
    assert secret not in caplog.text
    assert all(secret not in result.reason for result in results)
    assert secret not in repr(AuthRequest("imap", IPv4Address(HOME), "bob", secret))


async def test_a_login_over_an_insecure_channel_is_marked_in_the_log(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    await site.authenticator.authenticate(
        AuthRequest("pop3", IPv6Address("2001:db8::1"), "alice@example.org", PASSWORD, secure=False)
    )
    assert auth_lines(caplog) == [
        "auth: protocol=pop3 client=2001:db8::1 login=alice@example.org result=ok "
        "account=alice@example.org secure=no"
    ]


# The basic path on every SQL backend


class TestOnEveryBackend:
    @pytest.fixture
    async def backend_site(self, database_url: str, tmp_path: Path) -> AsyncIterator[Site]:
        directory = await open_directory(database_url, tmp_path)
        authenticator = Authenticator(directory, auth_config(default_domain="example.org"))
        site = Site(directory, authenticator)
        await site.add("alice@example.org")
        await site.add("legacy@example.org", stored=LEGACY_HASH)
        yield site
        await authenticator.close()
        await directory.close()

    async def test_right_and_wrong_passwords(self, backend_site: Site) -> None:
        assert (await backend_site.login("alice", PASSWORD)).ok
        wrong = await backend_site.login("alice", "wrong")
        assert wrong.outcome is AuthOutcome.BAD_PASSWORD
        unknown = await backend_site.login("bob", PASSWORD)
        assert unknown.outcome is AuthOutcome.UNKNOWN_USER

    async def test_the_legacy_hash_is_upgraded_in_the_database(self, backend_site: Site) -> None:
        assert (await backend_site.login("legacy", "secret")).ok
        assert (await backend_site.stored_hash("legacy@example.org")).startswith("$argon2id$")
        assert (await backend_site.login("legacy", "secret")).ok


async def test_a_session_login_waits_the_delay_before_a_failure_is_answered(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the protocol sessions call: the throttle's delay is waited here, so that no
    # session can answer a guess early. Seen by the order of events, not by a clock: a
    # sleep is recorded only once it has run to its end.
    site = await make_site(MemoryThrottle(throttle_config(delay_base_seconds=0.2)))
    await site.add("alice@example.org")
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        result = await real_sleep(delay, *args, **kwargs)
        slept.append(delay)
        return result

    monkeypatch.setattr(asyncio, "sleep", sleep)
    failed = await site.authenticator.log_in(
        Credentials("", "alice@example.org", "guess"),
        protocol="pop3",
        client_ip=ip_address(HOME),
        secure=True,
    )
    assert failed.outcome is AuthOutcome.BAD_PASSWORD
    assert failed.delay_seconds == 0.2
    assert 0.2 in slept  # waited to its end before log_in answered
    passed = await site.authenticator.log_in(
        Credentials("", "alice@example.org", PASSWORD),
        protocol="pop3",
        client_ip=ip_address(HOME),
        secure=True,
    )
    assert (passed.ok, passed.delay_seconds) == (True, 0.0)
