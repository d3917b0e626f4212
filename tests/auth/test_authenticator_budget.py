"""The Authenticator reserves an attempt before it verifies anything: parallel wrong
passwords check at most the limit, a refused login is a temporary failure (also with
the right password), and a login abandoned mid-check still counts."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

from mailroom.auth import AuthOutcome, AuthRequest, MemoryThrottle, ThrottleVerdict
from mailroom.auth.throttle import IPAddress
from mailroom.config import ThrottleConfig
from tests.support.auth_site import ELSEWHERE, HOME, PASSWORD, MakeSite

LIMIT = ThrottleConfig(max_failures_per_ip=10, max_failures_per_account=1000, delay_base_seconds=0)


async def test_sixty_parallel_wrong_passwords_check_at_most_the_limit(
    make_site: MakeSite,
) -> None:
    site = await make_site(MemoryThrottle(LIMIT), cache_ttl_seconds=0)
    await site.add("alice@example.org")
    results = await asyncio.gather(
        *(site.login("alice@example.org", f"guess {n}", ip=ELSEWHERE) for n in range(60))
    )
    outcomes = [result.outcome for result in results]
    assert outcomes.count(AuthOutcome.BAD_PASSWORD) == 10
    assert outcomes.count(AuthOutcome.THROTTLED) == 50
    assert site.authenticator.stats.hashes_verified == 10
    assert all(
        result.temporary for result in results if result.outcome is not AuthOutcome.BAD_PASSWORD
    )


async def test_the_right_password_during_a_ban_is_a_temporary_refusal(make_site: MakeSite) -> None:
    site = await make_site(MemoryThrottle(LIMIT))
    await site.add("alice@example.org")
    for n in range(10):
        await site.login("alice@example.org", f"guess {n}", ip=ELSEWHERE)
    verified = site.authenticator.stats.hashes_verified
    result = await site.login("alice@example.org", PASSWORD, ip=ELSEWHERE)
    assert result.outcome is AuthOutcome.THROTTLED and result.temporary and not result.ok
    assert "banned" in result.reason
    assert site.authenticator.stats.hashes_verified == verified  # not even checked
    assert (await site.login("alice@example.org", PASSWORD, ip=HOME)).ok


async def test_parallel_logins_with_the_right_password_give_their_attempts_back(
    make_site: MakeSite,
) -> None:
    throttle = MemoryThrottle(LIMIT)
    site = await make_site(throttle, cache_ttl_seconds=0)
    await site.add("alice@example.org")
    for _ in range(3):
        results = await asyncio.gather(
            *(site.login("alice@example.org", PASSWORD, ip=HOME) for _ in range(10))
        )
        assert all(result.ok for result in results)
    assert (await throttle.check(ip_address(HOME), "alice@example.org")).allowed


class ReservationSeen(MemoryThrottle):
    """The in-memory throttle, telling the test when an attempt has been reserved."""

    def __init__(self, config: ThrottleConfig) -> None:
        super().__init__(config)
        self.reserved = asyncio.Event()

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        verdict = await super().reserve(ip, account)
        self.reserved.set()
        return verdict


async def test_a_login_abandoned_mid_check_is_counted_as_a_failure(make_site: MakeSite) -> None:
    throttle = ReservationSeen(LIMIT.model_copy(update={"max_failures_per_ip": 2}))
    site = await make_site(throttle)
    await site.add("alice@example.org")
    for n in range(2):
        throttle.reserved.clear()
        login = asyncio.create_task(site.login("alice@example.org", f"guess {n}", ip=ELSEWHERE))
        await throttle.reserved.wait()  # reserved; now verifying in the pool
        login.cancel()
        await asyncio.gather(login, return_exceptions=True)
        assert login.cancelled()
    verdict = await throttle.check(ip_address(ELSEWHERE), "alice@example.org")
    assert (verdict.allowed, verdict.reason) == (False, "ip_banned")


async def test_an_unknown_account_spends_the_budget_like_a_known_one(make_site: MakeSite) -> None:
    site = await make_site(MemoryThrottle(LIMIT), cache_ttl_seconds=0)
    results = await asyncio.gather(
        *(
            site.authenticator.authenticate(
                AuthRequest("imap", ip_address(ELSEWHERE), f"user{n}@example.org", "x")
            )
            for n in range(30)
        )
    )
    assert [r.outcome for r in results].count(AuthOutcome.UNKNOWN_USER) == 10
    assert site.authenticator.stats.hashes_verified == 10
