"""The login cache behind the Authenticator, against a real directory: a password verified
once is not hashed again within the TTL, yet a ban, a new password, a disabled or removed
account count at once, and a wrong password is never remembered. `stats` shows how many
hashes ran (what a metrics endpoint would show)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.auth import Authenticator, AuthOutcome, MemoryThrottle
from mailroom.auth.login_cache import LoginCache
from mailroom.config import DirectoryConfig, PasswordHashing
from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
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
from tests.support.password_hashes import CHEAP, LEGACY_HASH

ALICE = "alice@example.org"


@pytest.fixture
async def cached(make_site: MakeSite, clock: FakeClock) -> Site:
    """Alice and Bob with PASSWORD, the cache as shipped (300 s), on the test's clock."""
    site = await make_site(clock=clock)
    await site.add(ALICE)
    await site.add("bob@example.org")
    return site


def hashes(site: Site) -> int:
    return site.authenticator.stats.hashes_verified


async def test_a_second_login_with_the_same_password_runs_no_hash(
    cached: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert hashes(cached) == 1
    second = await cached.login(ALICE, PASSWORD)
    assert (second.ok, second.account) == (True, ALICE)
    assert (hashes(cached), cached.authenticator.stats.cache_hits) == (1, 1)
    first_line, second_line = (r.getMessage() for r in caplog.records if r.name == "mailroom.auth")
    assert "cache=" not in first_line
    assert second_line.endswith("result=ok account=alice@example.org cache=hit")


async def test_any_address_of_the_account_uses_its_entry(cached: Site) -> None:
    await cached.directory.add_address(ALICE, "liddell@example.org")
    await cached.login(ALICE, PASSWORD)
    assert (await cached.login("Liddell@Example.ORG", PASSWORD)).ok
    assert hashes(cached) == 1


async def test_the_same_login_on_several_connections_at_once_runs_one_hash(
    make_site: MakeSite,
) -> None:
    # Costs that make a verification outlast the directory lookups, as real ones do.
    slower = PasswordHashing(time_cost=2, memory_kib=16384, parallelism=1)
    site = await make_site(passwords=slower)
    await site.add(ALICE, stored=PasswordHasher(slower).hash(PASSWORD))
    results = await asyncio.gather(*(site.login(ALICE, PASSWORD) for _ in range(5)))
    assert all(result.ok for result in results)
    assert hashes(site) == 1  # the others waited for it (or, arriving late, hit the cache)
    # A shared verification of a wrong password fails every login that waited for it.
    wrong = await asyncio.gather(*(site.login(ALICE, "guess") for _ in range(3)))
    assert {result.outcome for result in wrong} == {AuthOutcome.BAD_PASSWORD}


async def test_a_wrong_password_is_verified_and_never_remembered(cached: Site) -> None:
    await cached.login(ALICE, PASSWORD)
    for expected_hashes in (2, 3):
        wrong = await cached.login(ALICE, "correct horse batterx")
        assert wrong.outcome is AuthOutcome.BAD_PASSWORD
        assert hashes(cached) == expected_hashes
    # The guesses did not push the owner's entry out.
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert hashes(cached) == 3


async def test_an_unknown_account_costs_a_hash_every_time(cached: Site) -> None:
    for expected_hashes in (1, 2):
        unknown = await cached.login("carol@example.org", PASSWORD)
        assert unknown.outcome is AuthOutcome.UNKNOWN_USER
        assert hashes(cached) == expected_hashes


async def test_a_password_changed_elsewhere_voids_the_entry_at_once(cached: Site) -> None:
    await cached.login(ALICE, PASSWORD)
    # As `mailroom user passwd` does it, from another process: straight into the database.
    await cached.directory.set_password_hash(ALICE, PasswordHasher(CHEAP).hash("new secret"))
    old = await cached.login(ALICE, PASSWORD)
    assert old.outcome is AuthOutcome.BAD_PASSWORD
    assert hashes(cached) == 2
    assert (await cached.login(ALICE, "new secret")).ok
    assert (await cached.login(ALICE, "new secret")).ok
    assert hashes(cached) == 3


async def test_a_disabled_account_is_refused_with_a_cached_password(cached: Site) -> None:
    await cached.login(ALICE, PASSWORD)
    await cached.directory.set_enabled(ALICE, False)
    refused = await cached.login(ALICE, PASSWORD)
    assert refused.outcome is AuthOutcome.DISABLED
    await cached.directory.set_enabled(ALICE, True)
    assert (await cached.login(ALICE, PASSWORD)).ok


async def test_a_removed_account_is_unknown_with_a_cached_password(cached: Site) -> None:
    await cached.login(ALICE, PASSWORD)
    await cached.directory.remove_account(ALICE)
    assert (await cached.login(ALICE, PASSWORD)).outcome is AuthOutcome.UNKNOWN_USER


async def test_a_banned_client_is_refused_with_a_cached_password(
    make_site: MakeSite, clock: FakeClock
) -> None:
    throttle = MemoryThrottle(throttle_config(max_failures_per_ip=2, ban_seconds=60), clock=clock)
    site = await make_site(throttle, clock=clock)
    await site.add(ALICE)
    assert (await site.login(ALICE, PASSWORD)).ok
    for _ in range(2):
        await site.login(ALICE, "guess")
    banned = await site.login(ALICE, PASSWORD)
    assert banned.outcome is AuthOutcome.THROTTLED
    assert site.authenticator.stats.cache_hits == 0
    # From an address that is not banned, the entry answers.
    assert (await site.login(ALICE, PASSWORD, ip=ELSEWHERE)).ok
    assert site.authenticator.stats.cache_hits == 1


async def test_an_entry_lasts_the_ttl(cached: Site, clock: FakeClock) -> None:
    await cached.login(ALICE, PASSWORD)
    clock.advance(299)
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert hashes(cached) == 1
    clock.advance(1)  # 300 s after it was verified, a hit does not extend it
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert hashes(cached) == 2


@pytest.mark.parametrize("off", [{"cache_ttl_seconds": 0}, {"cache_max_entries": 0}])
async def test_a_cache_turned_off_verifies_every_login(
    make_site: MakeSite, off: dict[str, int]
) -> None:
    site = await make_site(**off)
    await site.add(ALICE)
    for expected_hashes in (1, 2, 3):
        assert (await site.login(ALICE, PASSWORD)).ok
        assert hashes(site) == expected_hashes
    assert site.authenticator.stats.cache_hits == 0


async def test_the_least_recently_used_entry_goes_first(make_site: MakeSite) -> None:
    site = await make_site(cache_max_entries=2)
    for name in ("alice", "bob", "carol"):
        await site.add(f"{name}@example.org")
    await site.login(ALICE, PASSWORD)
    await site.login("bob@example.org", PASSWORD)
    await site.login(ALICE, PASSWORD)  # a hit: alice is now the most recent
    await site.login("carol@example.org", PASSWORD)  # bob goes
    assert hashes(site) == 3
    await site.login(ALICE, PASSWORD)
    assert hashes(site) == 3
    await site.login("bob@example.org", PASSWORD)
    assert hashes(site) == 4


async def test_a_legacy_hash_is_remembered_once_upgraded(make_site: MakeSite) -> None:
    site = await make_site()
    await site.add(ALICE, stored=LEGACY_HASH)
    assert (await site.login(ALICE, "secret")).ok  # verified, then upgraded
    assert (await site.stored_hash(ALICE)).startswith("$argon2id$")
    assert (await site.login(ALICE, "secret")).ok  # the new hash, verified once
    assert (await site.login(ALICE, "secret")).ok
    assert (hashes(site), site.authenticator.stats.cache_hits) == (2, 1)


async def test_without_upgrades_a_legacy_hash_is_remembered_as_it_is(
    make_site: MakeSite,
) -> None:
    site = await make_site(passwords=CHEAP.model_copy(update={"upgrade_on_login": False}))
    await site.add(ALICE, stored=LEGACY_HASH)
    for _ in range(3):
        assert (await site.login(ALICE, "secret")).ok
    assert hashes(site) == 1


async def test_a_master_login_is_remembered_yet_checked_for_its_network(
    make_site: MakeSite,
) -> None:
    site = await make_site(master_users=[master()])
    await site.add(ALICE)
    for _ in range(2):
        assert (await site.login(f"{ALICE}*webmail", MASTER_PASSWORD, ip=WEBMAIL)).ok
    assert hashes(site) == 1
    outside = await site.login(f"{ALICE}*webmail", MASTER_PASSWORD, ip=HOME)
    assert outside.outcome is AuthOutcome.MASTER_NOT_ALLOWED
    # The master's entry is not the account's: the account's own password is verified.
    assert (await site.login(ALICE, PASSWORD)).ok
    assert hashes(site) == 2


# The account records: reused while the directory's version stands still


@pytest.fixture
async def elsewhere(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    """The same database opened again, as `mailroom` in another process or a worker has it."""
    other = await Directory.connect(DirectoryConfig(url=sqlite_url), tmp_path)
    yield other
    await other.close()


def reads(site: Site) -> int:
    return site.authenticator.stats.accounts_read


async def test_a_cached_login_reads_no_account_from_the_directory(cached: Site) -> None:
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert reads(cached) == 1
    for _ in range(3):
        assert (await cached.login(ALICE, PASSWORD)).ok
    # What the session opening the mailbox asks for comes from the same record.
    assert (await cached.authenticator.account(ALICE)) == await cached.directory.get_account(ALICE)
    assert (reads(cached), hashes(cached)) == (1, 1)


async def test_any_change_elsewhere_makes_the_next_login_read_again(
    cached: Site, elsewhere: Directory
) -> None:
    await cached.login(ALICE, PASSWORD)
    await cached.login("bob@example.org", PASSWORD)
    # Another account's quota: nothing a login needs, but every record is read again.
    await elsewhere.update_account("bob@example.org", quota_bytes=1000)
    assert (await cached.login(ALICE, PASSWORD)).ok
    assert reads(cached) == 3
    bob = await cached.authenticator.account("bob@example.org")
    assert bob is not None and bob.quota_bytes == 1000
    assert (reads(cached), hashes(cached)) == (4, 2)  # the passwords still came from the cache


async def test_an_address_removed_elsewhere_no_longer_logs_in_at_once(
    cached: Site, elsewhere: Directory
) -> None:
    await elsewhere.add_address(ALICE, "liddell@example.org")
    assert (await cached.login("liddell@example.org", PASSWORD)).ok
    assert (await cached.login("liddell@example.org", PASSWORD)).ok
    await elsewhere.remove_address("liddell@example.org")
    gone = await cached.login("liddell@example.org", PASSWORD)
    assert gone.outcome is AuthOutcome.UNKNOWN_USER
    assert (await cached.login(ALICE, PASSWORD)).ok


CHANGES: dict[str, tuple[Callable[[Directory], Awaitable[object]], AuthOutcome]] = {
    "passwd": (
        lambda other: other.set_password_hash(ALICE, PasswordHasher(CHEAP).hash("new secret")),
        AuthOutcome.BAD_PASSWORD,
    ),
    "disable": (lambda other: other.set_enabled(ALICE, False), AuthOutcome.DISABLED),
    "remove": (lambda other: other.remove_account(ALICE), AuthOutcome.UNKNOWN_USER),
}


@pytest.mark.parametrize("name", CHANGES)
async def test_a_change_elsewhere_refuses_the_cached_password_at_once(
    cached: Site, elsewhere: Directory, name: str
) -> None:
    change, outcome = CHANGES[name]
    for _ in range(2):
        assert (await cached.login(ALICE, PASSWORD)).ok
    assert reads(cached) == 1
    await change(elsewhere)
    assert (await cached.login(ALICE, PASSWORD)).outcome is outcome


async def test_unknown_logins_are_read_every_time(cached: Site) -> None:
    # Made-up names must not push the records of real accounts out.
    for expected_reads in (1, 2):
        await cached.login("carol@example.org", PASSWORD)
        assert reads(cached) == expected_reads


async def test_records_are_bounded_like_the_cache(make_site: MakeSite) -> None:
    site = await make_site(cache_max_entries=2)
    names = [f"{name}@example.org" for name in ("alice", "bob", "carol")]
    for name in names:
        await site.add(name)  # each add is a change: added first, so no record is dropped
    for name in names:
        await site.login(name, PASSWORD)
    assert reads(site) == 3
    await site.login("bob@example.org", PASSWORD)
    assert reads(site) == 3
    await site.login(ALICE, PASSWORD)  # the least recently used went first
    assert reads(site) == 4


async def test_with_the_cache_off_every_login_reads_the_account(make_site: MakeSite) -> None:
    site = await make_site(cache_ttl_seconds=0)
    await site.add(ALICE)
    for expected_reads in (1, 2):
        assert (await site.login(ALICE, PASSWORD)).ok
        assert reads(site) == expected_reads


# The cache itself

_text = st.text(max_size=40)


@given(who=_text, stored=_text, password=_text, other_stored=_text, other_password=_text)
def test_only_the_same_login_against_the_same_hash_hits(
    who: str, stored: str, password: str, other_stored: str, other_password: str
) -> None:
    cache = LoginCache(ttl_seconds=60, max_entries=10)
    cache.remember(cache.key_of(who, stored, password))
    assert cache.holds(cache.key_of(who, stored, password))
    same = (other_stored, other_password) == (stored, password)
    assert cache.holds(cache.key_of(who, other_stored, other_password)) is same


def test_no_two_logins_share_a_key() -> None:
    # The fields are length-prefixed: moving characters from one field to the next
    # makes another key.
    cache = LoginCache(ttl_seconds=60, max_entries=10)
    assert cache.key_of("a", "bc", "d") != cache.key_of("a", "b", "cd")


def test_a_key_shows_no_digest_and_holds_no_password() -> None:
    cache = LoginCache(ttl_seconds=60, max_entries=10)
    key = cache.key_of(ALICE, "$argon2id$...", PASSWORD)
    assert repr(key) == "CacheKey(who='alice@example.org')"
    assert PASSWORD.encode() not in key.digest and len(key.digest) == 32


def test_each_process_keys_its_cache_anew() -> None:
    first, second = LoginCache(60, 10), LoginCache(60, 10)
    assert first.key_of(ALICE, "h", PASSWORD) != second.key_of(ALICE, "h", PASSWORD)


async def test_on_every_backend_a_record_stands_until_a_change_elsewhere(
    database_url: str, tmp_path: Path
) -> None:
    # On MariaDB and PostgreSQL the version is read with a statement, not on SQLite's side
    # connection: the same promise either way.
    directory = await open_directory(database_url, tmp_path)
    other = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    authenticator = Authenticator(directory, auth_config())
    site = Site(directory, authenticator)
    try:
        await site.add(ALICE)
        for _ in range(2):
            assert (await site.login(ALICE, PASSWORD)).ok
        assert reads(site) == 1
        await other.set_enabled(ALICE, False)
        assert (await site.login(ALICE, PASSWORD)).outcome is AuthOutcome.DISABLED
        assert reads(site) == 2
    finally:
        await authenticator.close()
        await other.close()
        await directory.close()
