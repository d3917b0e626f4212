"""An administrator's view of the throttle's bans (`BanAdministration`): the bans in
force are listed with their time left, and a lifted one lets its address or account
in at once, without the next failure banning it again. Both throttles: in memory (with
its ban file) and in the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.auth import Ban, BanAdministration, BanKind, MemoryThrottle
from mailroom.auth.ban_store import BanFile
from mailroom.auth.redis_throttle import RedisThrottle
from mailroom.auth.throttle import Settlement
from mailroom.config import ThrottleConfig
from tests.support.redis_server import REDIS_URL, redis_prefix

ATTACKER = IPv4Address("203.0.113.9")
OWNER = IPv4Address("198.51.100.7")
ALICE = "alice@example.org"
SETTINGS = {"max_failures_per_ip": 3, "max_failures_per_account": 3, "delay_base_seconds": 0}


@pytest.fixture(params=["memory", "redis"])
async def throttle(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[MemoryThrottle | RedisThrottle]:
    if request.param == "memory":
        memory = MemoryThrottle(ThrottleConfig.model_validate(SETTINGS), ban_file=BanFile(tmp_path))
        yield memory
        await memory.close()
        return
    async for prefix in redis_prefix():
        config = {**SETTINGS, "redis_url": REDIS_URL, "redis_key_prefix": prefix}
        redis = RedisThrottle(ThrottleConfig.model_validate(config))
        yield redis
        await redis.close()


async def fail(
    throttle: MemoryThrottle | RedisThrottle, ip: IPv4Address | IPv6Address, n: int
) -> None:
    for _ in range(n):
        verdict = await throttle.reserve(ip, ALICE)
        await throttle.settle(ip, ALICE, verdict.token, Settlement.FAILURE)


def administration(throttle: MemoryThrottle | RedisThrottle) -> BanAdministration:
    return throttle


async def test_no_bans_are_listed_before_any_failure(
    throttle: MemoryThrottle | RedisThrottle,
) -> None:
    assert await administration(throttle).bans() == []


async def test_a_banned_address_and_locked_account_are_listed_with_their_time_left(
    throttle: MemoryThrottle | RedisThrottle,
) -> None:
    await fail(throttle, ATTACKER, 3)
    bans = await administration(throttle).bans()
    assert {(ban.kind, ban.subject) for ban in bans} == {
        (BanKind.ADDRESS, "203.0.113.9/32"),
        (BanKind.ACCOUNT, ALICE),
    }
    limit = throttle.config.ban_seconds
    assert all(0 < ban.remaining <= limit for ban in bans)


async def test_lifting_an_address_ban_lets_it_in_and_the_next_failure_does_not_ban_again(
    throttle: MemoryThrottle | RedisThrottle,
) -> None:
    await fail(throttle, ATTACKER, 3)
    assert not (await throttle.check(ATTACKER, "bob@example.org")).allowed
    assert await administration(throttle).lift(BanKind.ADDRESS, "203.0.113.9/32")
    assert (await throttle.check(ATTACKER, "bob@example.org")).allowed
    await fail(throttle, ATTACKER, 1)
    assert (await throttle.check(ATTACKER, "bob@example.org")).allowed
    remaining = await administration(throttle).bans()
    assert [(ban.kind, ban.subject) for ban in remaining] == [(BanKind.ACCOUNT, ALICE)]


async def test_lifting_an_account_lock_lets_strangers_try_it_again(
    throttle: MemoryThrottle | RedisThrottle,
) -> None:
    await fail(throttle, ATTACKER, 3)
    assert (await throttle.check(OWNER, ALICE)).reason == "account_locked"
    assert await administration(throttle).lift(BanKind.ACCOUNT, ALICE)
    assert (await throttle.check(OWNER, ALICE)).allowed


async def test_lifting_what_is_not_banned_says_so(throttle: MemoryThrottle | RedisThrottle) -> None:
    admin = administration(throttle)
    assert not await admin.lift(BanKind.ADDRESS, "203.0.113.9/32")
    assert not await admin.lift(BanKind.ADDRESS, "not a network")
    assert not await admin.lift(BanKind.ACCOUNT, ALICE)


async def test_an_ipv6_ban_is_listed_and_lifted_as_its_64(
    throttle: MemoryThrottle | RedisThrottle,
) -> None:
    await fail(throttle, IPv6Address("2001:db8:1:2::5"), 3)
    subjects = [
        ban.subject for ban in await administration(throttle).bans() if ban.kind is BanKind.ADDRESS
    ]
    assert subjects == ["2001:db8:1:2::/64"]
    assert await administration(throttle).lift(BanKind.ADDRESS, "2001:db8:1:2::/64")
    assert (await throttle.check(IPv6Address("2001:db8:1:2::7"), "bob@example.org")).allowed


async def test_a_lifted_ban_stays_lifted_after_a_restart(tmp_path: Path) -> None:
    config = ThrottleConfig.model_validate(SETTINGS)
    first = MemoryThrottle(config, ban_file=BanFile(tmp_path))
    await fail(first, ATTACKER, 3)
    await first.close()
    assert await first.lift(BanKind.ADDRESS, "203.0.113.9/32")
    await first.close()
    second = MemoryThrottle(config, ban_file=BanFile(tmp_path))
    assert [ban.kind for ban in await second.bans()] == [BanKind.ACCOUNT]
    assert isinstance((await second.bans())[0], Ban)


@given(st.sampled_from(list(BanKind)), st.text(max_size=300))
def test_lifting_any_text_never_raises(kind: BanKind, subject: str) -> None:
    async def lift() -> None:
        throttle = MemoryThrottle(ThrottleConfig.model_validate(SETTINGS))
        await fail(throttle, ATTACKER, 3)
        lifted = await throttle.lift(kind, subject)
        assert lifted == (
            (kind is BanKind.ADDRESS and subject == "203.0.113.9/32")
            or (kind is BanKind.ACCOUNT and subject == ALICE)
        )

    asyncio.run(lift())
