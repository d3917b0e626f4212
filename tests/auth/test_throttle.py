"""The throttle, told of failures and successes on a clock the test moves: delays grow and
cap, bans come and go, accounts lock for strangers only, and memory stays bounded."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from mailroom.auth.throttle import MemoryThrottle, ThrottleVerdict
from mailroom.config import ThrottleConfig
from tests.support.fake_clock import FakeClock

ATTACKER = IPv4Address("203.0.113.9")
OWNER = IPv4Address("198.51.100.7")
ALICE = "alice@example.org"


def throttle(clock: FakeClock, **settings: object) -> MemoryThrottle:
    defaults: dict[str, object] = {
        "max_failures_per_ip": 5,
        "max_failures_per_account": 1000,
        "window_seconds": 600,
        "ban_seconds": 300,
        "delay_base_seconds": 0,
    }
    return MemoryThrottle(ThrottleConfig.model_validate(defaults | settings), clock=clock)


async def fail_times(
    t: MemoryThrottle, times: int, ip: IPv4Address | IPv6Address = ATTACKER, account: str = ALICE
) -> list[float]:
    return [await t.record_failure(ip, account) for _ in range(times)]


async def test_a_fresh_client_is_allowed(clock: FakeClock) -> None:
    assert await throttle(clock).check(ATTACKER, ALICE) == ThrottleVerdict(True, 0.0, "allowed")


async def test_an_address_is_banned_on_its_fifth_failure_and_not_before(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 4)
    assert (await t.check(ATTACKER, ALICE)).allowed
    await fail_times(t, 1)
    assert await t.check(ATTACKER, ALICE) == ThrottleVerdict(False, 300.0, "ip_banned")


async def test_a_ban_covers_every_account_from_that_address(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 5)
    assert (await t.check(ATTACKER, "bob@example.org")).reason == "ip_banned"
    assert (await t.check(OWNER, ALICE)).allowed


async def test_a_ban_lifts_after_ban_seconds(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 5)
    clock.advance(299)
    assert await t.check(ATTACKER, ALICE) == ThrottleVerdict(False, 1.0, "ip_banned")
    clock.advance(1)
    assert (await t.check(ATTACKER, ALICE)).allowed


async def test_after_a_ban_counting_starts_over(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 5)
    clock.advance(300)
    await fail_times(t, 4)
    assert (await t.check(ATTACKER, ALICE)).allowed
    await fail_times(t, 1)
    assert not (await t.check(ATTACKER, ALICE)).allowed


async def test_failures_older_than_the_window_are_forgotten(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 4)
    clock.advance(600)
    await fail_times(t, 4)
    assert (await t.check(ATTACKER, ALICE)).allowed


async def test_failures_inside_the_window_add_up(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 4)
    clock.advance(599)
    await fail_times(t, 1)
    assert not (await t.check(ATTACKER, ALICE)).allowed


async def test_the_delay_doubles_with_each_failure_up_to_the_cap(clock: FakeClock) -> None:
    t = throttle(clock, max_failures_per_ip=100, delay_base_seconds=0.5, delay_max_seconds=5)
    assert await fail_times(t, 6) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def test_the_delay_starts_over_once_failures_age_out(clock: FakeClock) -> None:
    t = throttle(clock, max_failures_per_ip=100, delay_base_seconds=1, delay_max_seconds=60)
    await fail_times(t, 3)
    clock.advance(601)
    assert await fail_times(t, 1) == [1.0]


async def test_a_huge_failure_limit_does_not_overflow_the_delay(clock: FakeClock) -> None:
    t = throttle(clock, max_failures_per_ip=5000, delay_base_seconds=1, delay_max_seconds=15)
    delays = await fail_times(t, 2000)
    assert delays[-1] == 15.0


async def test_a_success_does_not_wipe_an_attackers_failures(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 4, account="bob@example.org")
    await t.record_success(ATTACKER, "mallory@example.org")
    await fail_times(t, 1, account="bob@example.org")
    assert not (await t.check(ATTACKER, "mallory@example.org")).allowed


# Accounts


async def test_an_account_under_attack_from_many_addresses_locks_for_strangers(
    clock: FakeClock,
) -> None:
    t = throttle(clock, max_failures_per_account=10)
    for host in range(10):
        await t.record_failure(IPv4Address(f"203.0.113.{host}"), ALICE)
    stranger = IPv4Address("192.0.2.77")
    assert await t.check(stranger, ALICE) == ThrottleVerdict(False, 300.0, "account_locked")
    assert (await t.check(stranger, "bob@example.org")).allowed


async def test_the_owner_logs_in_from_a_familiar_address_during_the_lock(
    clock: FakeClock,
) -> None:
    t = throttle(clock, max_failures_per_account=10)
    await t.record_success(OWNER, ALICE)
    for host in range(10):
        await t.record_failure(IPv4Address(f"203.0.113.{host}"), ALICE)
    assert (await t.check(OWNER, ALICE)).allowed
    assert (await t.check(IPv4Address("203.0.113.200"), ALICE)).reason == "account_locked"


async def test_an_account_lock_lifts_after_ban_seconds(clock: FakeClock) -> None:
    t = throttle(clock, max_failures_per_account=3)
    for host in range(3):
        await t.record_failure(IPv4Address(f"203.0.113.{host}"), ALICE)
    clock.advance(300)
    assert (await t.check(IPv4Address("192.0.2.1"), ALICE)).allowed


async def test_only_the_sixteen_most_recent_familiar_addresses_are_remembered(
    clock: FakeClock,
) -> None:
    t = throttle(clock, max_failures_per_account=1)
    for host in range(17):
        await t.record_success(IPv4Address(f"198.51.100.{host}"), ALICE)
    await t.record_failure(ATTACKER, ALICE)
    assert (await t.check(IPv4Address("198.51.100.16"), ALICE)).allowed
    assert (await t.check(IPv4Address("198.51.100.1"), ALICE)).allowed
    assert (await t.check(IPv4Address("198.51.100.0"), ALICE)).reason == "account_locked"


# Which addresses count together, and which not at all


async def test_an_ipv6_client_is_counted_per_64(clock: FakeClock) -> None:
    t = throttle(clock)
    for host in range(5):
        await t.record_failure(IPv6Address(f"2001:db8:1:2::{host + 1:x}"), ALICE)
    neighbour = IPv6Address("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert (await t.check(neighbour, ALICE)).reason == "ip_banned"
    assert (await t.check(IPv6Address("2001:db8:1:3::1"), ALICE)).allowed


async def test_ipv4_clients_are_each_their_own_address(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 5, ip=IPv4Address("203.0.113.1"))
    assert (await t.check(IPv4Address("203.0.113.2"), ALICE)).allowed


async def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(clock: FakeClock) -> None:
    t = throttle(clock)
    await fail_times(t, 5, ip=IPv6Address("::ffff:203.0.113.9"))
    assert (await t.check(ATTACKER, ALICE)).reason == "ip_banned"
    # ... and does not take every other IPv4 client down with it (as its /64 would).
    assert (await t.check(IPv6Address("::ffff:203.0.113.10"), ALICE)).allowed


async def test_exempt_networks_are_never_counted_or_banned(clock: FakeClock) -> None:
    webmail = IPv4Address("172.16.2.20")
    t = throttle(
        clock, exempt_networks=["172.16.2.20/32", "2001:db8:ee::/48"], max_failures_per_account=3
    )
    assert await fail_times(t, 20, ip=webmail) == [0.0] * 20
    assert await t.check(webmail, ALICE) == ThrottleVerdict(True, 0.0, "exempt")
    await fail_times(t, 20, ip=IPv6Address("2001:db8:ee:1::1"))
    # The exempt host's failures did not lock the account for anyone else either.
    assert (await t.check(ATTACKER, ALICE)).allowed


async def test_an_exempt_host_logs_in_to_a_locked_account(clock: FakeClock) -> None:
    t = throttle(clock, exempt_networks=["172.16.2.20/32"], max_failures_per_account=3)
    await fail_times(t, 3)
    assert (await t.check(ip_address("172.16.2.20"), ALICE)).reason == "exempt"


async def test_when_disabled_nothing_is_counted(clock: FakeClock) -> None:
    t = throttle(clock, enabled=False, delay_base_seconds=1)
    assert await fail_times(t, 50) == [0.0] * 50
    assert await t.check(ATTACKER, ALICE) == ThrottleVerdict(True, 0.0, "disabled")
    assert t.tracked == (0, 0)


# Memory


async def test_memory_is_capped_forgetting_the_least_recently_seen(clock: FakeClock) -> None:
    t = MemoryThrottle(
        ThrottleConfig.model_validate({"max_failures_per_ip": 2, "delay_base_seconds": 0}),
        clock=clock,
        max_tracked=100,
    )
    await fail_times(t, 2, ip=IPv4Address("10.0.0.0"))  # banned, then pushed out
    for host in range(1, 150):
        await t.record_failure(IPv4Address(f"10.0.{host // 256}.{host % 256}"), f"u{host}@x.org")
    assert t.tracked == (100, 100)
    assert (await t.check(IPv4Address("10.0.0.0"), ALICE)).allowed  # the oldest, forgotten
    recent = IPv4Address("10.0.0.149")
    await t.record_failure(recent, ALICE)  # its second failure: it was remembered
    assert (await t.check(recent, ALICE)).reason == "ip_banned"


async def test_entries_with_nothing_left_to_remember_are_pruned(clock: FakeClock) -> None:
    t = throttle(clock)
    for host in range(50):
        await t.record_failure(IPv4Address(f"203.0.113.{host}"), f"user{host}@example.org")
    await t.record_success(OWNER, ALICE)
    assert t.tracked == (50, 51)
    clock.advance(601)
    await t.record_failure(ATTACKER, "bob@example.org")
    # What remains: the new failure, and alice's familiar address.
    assert t.tracked == (1, 2)


@pytest.mark.parametrize("failures", [1, 4])
async def test_a_pruned_address_is_a_fresh_client(clock: FakeClock, failures: int) -> None:
    t = throttle(clock, delay_base_seconds=1, delay_max_seconds=100)
    await fail_times(t, failures)
    clock.advance(601)
    assert await fail_times(t, 1) == [1.0]
