"""The budget of login attempts, reserved before any password is checked: attempts in
flight count, a success gives its attempt back, a failure keeps it and bans at the limit.
Each rule is checked on both throttles: in memory, and in the real Redis (shared by
every throttle using the same key prefix)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.auth.redis_throttle import RedisThrottle
from mailroom.auth.throttle import MemoryThrottle, Settlement, Throttle, ThrottleVerdict
from mailroom.config import ThrottleConfig
from tests.support.redis_server import REDIS_URL, redis_keys, redis_prefix

ATTACKER = IPv4Address("203.0.113.9")
OWNER = IPv4Address("198.51.100.7")
ALICE = "alice@example.org"
FAILURE, SUCCESS, VOID = Settlement.FAILURE, Settlement.SUCCESS, Settlement.VOID

MakeThrottle = Callable[..., Throttle]


@pytest.fixture(params=["memory", "redis"])
async def make_throttle(request: pytest.FixtureRequest) -> AsyncIterator[MakeThrottle]:
    """`make_throttle(**settings)`: a throttle with 3 failures per address, 5 per account
    (and `settings`); with "redis", each one made shares the test's key prefix."""
    made: list[Throttle] = []
    prefixes = redis_prefix()
    prefix = await anext(prefixes) if request.param == "redis" else ""

    def make(**settings: Any) -> Throttle:
        config = ThrottleConfig.model_validate(
            {"max_failures_per_ip": 3, "max_failures_per_account": 5, "delay_base_seconds": 0}
            | settings
        )
        if request.param == "memory":
            throttle: Throttle = MemoryThrottle(config)
        else:
            redis = {"redis_url": REDIS_URL, "redis_key_prefix": prefix}
            throttle = RedisThrottle(config.model_copy(update=redis))
        made.append(throttle)
        return throttle

    yield make
    for throttle in made:
        await throttle.close()
    if prefix:
        await anext(prefixes, None)


async def test_attempts_in_flight_spend_the_budget_before_any_is_checked(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle()
    held = [await throttle.reserve(ATTACKER, f"u{n}@example.org") for n in range(3)]
    assert all(verdict.allowed and verdict.token for verdict in held)
    refused = await throttle.reserve(ATTACKER, "u9@example.org")
    assert (refused.allowed, refused.reason) == (False, "ip_in_flight")
    assert refused.retry_after > 0 and not refused.token
    assert (await throttle.reserve(OWNER, ALICE)).allowed  # another address has its own


async def test_sixty_reservations_at_once_let_only_the_limit_through(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(max_failures_per_ip=10, max_failures_per_account=100)
    verdicts = await asyncio.gather(*(throttle.reserve(ATTACKER, ALICE) for _ in range(60)))
    assert sum(verdict.allowed for verdict in verdicts) == 10


async def test_a_success_gives_its_attempt_back(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    held = [await throttle.reserve(OWNER, ALICE) for _ in range(3)]
    assert await throttle.settle(OWNER, ALICE, held[0].token, SUCCESS) == 0.0
    assert (await throttle.reserve(OWNER, ALICE)).allowed


async def test_a_check_that_never_ran_gives_its_attempt_back(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    held = [await throttle.reserve(OWNER, ALICE) for _ in range(3)]
    await throttle.settle(OWNER, ALICE, held[0].token, VOID)
    assert (await throttle.reserve(OWNER, ALICE)).allowed


async def test_failures_keep_their_attempts_and_the_last_one_bans(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle()
    for n in range(3):
        verdict = await throttle.reserve(ATTACKER, ALICE)
        await throttle.settle(ATTACKER, ALICE, verdict.token, FAILURE)
        if n < 2:
            assert (await throttle.check(ATTACKER, ALICE)).allowed
    banned = await throttle.reserve(ATTACKER, "bob@example.org")
    assert (banned.allowed, banned.reason) == (False, "ip_banned")
    assert 890 < banned.retry_after <= 900
    assert (await throttle.check(ATTACKER, ALICE)).reason == "ip_banned"
    assert (await throttle.reserve(OWNER, ALICE)).allowed


async def test_the_right_password_during_a_ban_is_not_even_tried(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle()
    for _ in range(3):
        verdict = await throttle.reserve(ATTACKER, ALICE)
        await throttle.settle(ATTACKER, ALICE, verdict.token, FAILURE)
    assert not (await throttle.reserve(ATTACKER, ALICE)).allowed


async def test_an_account_under_attack_locks_for_strangers_but_not_its_owner(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(max_failures_per_ip=100)
    owner = await throttle.reserve(OWNER, ALICE)
    await throttle.settle(OWNER, ALICE, owner.token, SUCCESS)
    for n in range(5):
        stranger = IPv4Address(f"203.0.113.{n}")
        verdict = await throttle.reserve(stranger, ALICE)
        await throttle.settle(stranger, ALICE, verdict.token, FAILURE)
    locked = await throttle.reserve(IPv4Address("203.0.113.200"), ALICE)
    assert (locked.allowed, locked.reason) == (False, "account_locked")
    assert (await throttle.reserve(OWNER, ALICE)).allowed


async def test_an_account_busy_with_attempts_in_flight_still_lets_its_owner_in(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(max_failures_per_ip=100)
    owner = await throttle.reserve(OWNER, ALICE)
    await throttle.settle(OWNER, ALICE, owner.token, SUCCESS)
    for n in range(5):
        assert (await throttle.reserve(IPv4Address(f"203.0.113.{n}"), ALICE)).allowed
    busy = await throttle.reserve(IPv4Address("203.0.113.200"), ALICE)
    assert (busy.allowed, busy.reason) == (False, "account_in_flight")
    assert (await throttle.reserve(OWNER, ALICE)).allowed


async def test_an_ipv6_client_spends_one_budget_per_64(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    for n in range(3):
        assert (await throttle.reserve(IPv6Address(f"2001:db8:1:2::{n + 1}"), ALICE)).allowed
    refused = await throttle.reserve(IPv6Address("2001:db8:1:2:ffff::9"), ALICE)
    assert refused.reason == "ip_in_flight"
    assert (await throttle.reserve(IPv6Address("2001:db8:1:3::1"), ALICE)).allowed


async def test_exempt_networks_reserve_nothing(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(exempt_networks=["203.0.113.0/24"])
    for _ in range(10):
        verdict = await throttle.reserve(ATTACKER, ALICE)
        assert (verdict.allowed, verdict.reason, verdict.token) == (True, "exempt", "")
        assert await throttle.settle(ATTACKER, ALICE, verdict.token, FAILURE) == 0.0


async def test_two_redis_throttles_with_one_prefix_share_budget_and_bans() -> None:
    async for prefix in redis_prefix():
        config = ThrottleConfig(max_failures_per_ip=3, redis_url=REDIS_URL, redis_key_prefix=prefix)
        node_a, node_b = RedisThrottle(config), RedisThrottle(config)
        try:
            first = await node_a.reserve(ATTACKER, ALICE)
            second = await node_b.reserve(ATTACKER, ALICE)
            third = await node_a.reserve(ATTACKER, ALICE)
            assert (await node_b.reserve(ATTACKER, ALICE)).reason == "ip_in_flight"
            for node, verdict in ((node_a, first), (node_b, second), (node_a, third)):
                await node.settle(ATTACKER, ALICE, verdict.token, FAILURE)
            assert (await node_b.check(ATTACKER, ALICE)).reason == "ip_banned"
            assert any(key.startswith(f"{prefix}ban:ip:") for key in await redis_keys(prefix))
        finally:
            await node_a.close()
            await node_b.close()


async def test_a_redis_that_does_not_answer_refuses_every_login() -> None:
    # A port nothing listens on: connection refused at once.
    config = ThrottleConfig(redis_url="redis://127.0.0.1:1/0")
    throttle = RedisThrottle(config, timeout=0.5)
    try:
        verdict = await throttle.reserve(OWNER, ALICE)
        assert (verdict.allowed, verdict.reason) == (False, "throttle_unavailable")
        assert (await throttle.check(OWNER, ALICE)).reason == "throttle_unavailable"
        assert await throttle.settle(OWNER, ALICE, "abc", FAILURE) > 0
    finally:
        await throttle.close()


async def test_a_redis_that_hangs_refuses_logins_after_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, reads, never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    throttle = RedisThrottle(ThrottleConfig(redis_url=f"redis://127.0.0.1:{port}/0"), timeout=0.3)
    try:
        verdict = await throttle.reserve(OWNER, ALICE)
        assert (verdict.allowed, verdict.reason) == (False, "throttle_unavailable")
    finally:
        await throttle.close()
        server.close()


async def test_every_redis_key_expires_on_its_own() -> None:
    async for prefix in redis_prefix():
        config = ThrottleConfig(max_failures_per_ip=2, redis_url=REDIS_URL, redis_key_prefix=prefix)
        throttle = RedisThrottle(config)
        try:
            for account in (ALICE, "bob@example.org"):
                verdict = await throttle.reserve(ATTACKER, account)
                await throttle.settle(ATTACKER, account, verdict.token, FAILURE)
            owner = await throttle.reserve(OWNER, ALICE)
            await throttle.settle(OWNER, ALICE, owner.token, SUCCESS)
            await throttle.reserve(OWNER, "carol@example.org")
            keys = await redis_keys(prefix)
            assert keys
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            try:
                ttls = [await client.pttl(key) for key in keys]
            finally:
                await client.aclose()
            assert all(ttl > 0 for ttl in ttls), dict(zip(keys, ttls, strict=True))
        finally:
            await throttle.close()


@settings(max_examples=300, deadline=None)
@given(
    st.none()
    | st.integers()
    | st.binary(max_size=20)
    | st.lists(
        st.none() | st.integers(-(2**70), 2**70) | st.binary(max_size=20) | st.text(max_size=20),
        max_size=4,
    )
)
def test_any_answer_from_redis_is_a_verdict_and_a_strange_one_refuses(answer: object) -> None:
    verdict = RedisThrottle._verdict(answer, "token")
    assert verdict.reason.isidentifier()
    assert verdict.allowed or 0 < verdict.retry_after <= 10**9
    if verdict.allowed:
        assert isinstance(answer, list) and answer[0] == 1 and verdict.token == "token"
    if not (isinstance(answer, list) and len(answer) == 3):
        assert (verdict.allowed, verdict.reason) == (False, "throttle_unavailable")


def test_a_well_formed_answer_is_read_as_sent() -> None:
    assert RedisThrottle._verdict([1, 0, b"allowed"], "t") == ThrottleVerdict(
        True, 0.0, "allowed", "t"
    )
    assert RedisThrottle._verdict([0, 1500, b"ip_banned"], "t") == ThrottleVerdict(
        False, 1.5, "ip_banned"
    )
    assert RedisThrottle._verdict([0, 1500, b"\xff"], "t").reason == "throttle_unavailable"
