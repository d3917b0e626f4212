"""Any sequence of logins from any addresses: the throttle's memory stays within its cap,
its delays within their bounds, and an exempt address is never refused."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv6Address

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.auth.throttle import MemoryThrottle, Settlement
from mailroom.config import ThrottleConfig
from tests.support.fake_clock import FakeClock

EXEMPT = IPv4Address("192.0.2.1")
addresses = st.one_of(
    st.integers(0, 40).map(lambda n: IPv4Address(f"203.0.113.{n}")),
    st.integers(0, 2**68).map(lambda n: IPv6Address((0x20010DB8 << 96) | n)),
    st.integers(0, 40).map(lambda n: IPv6Address(f"::ffff:203.0.113.{n}")),
    st.just(EXEMPT),
)
events = st.tuples(
    st.sampled_from(["fail", "succeed", "check"]),
    addresses,
    st.sampled_from(["alice@example.org", "bob@example.org", "x@example.org"]),
    st.floats(0, 400),
)


@settings(max_examples=200, deadline=None)
@example(  # a ban's remaining time came out as 300.0000000000002 in floating point
    script=[
        ("succeed", EXEMPT, "x@example.org", 0.0),
        ("succeed", EXEMPT, "x@example.org", 297.0),
        ("check", EXEMPT, "bob@example.org", 37.21119571092864),
        ("fail", EXEMPT, "x@example.org", 126.8802410315127),
        ("fail", IPv4Address("203.0.113.0"), "x@example.org", 287.89868544552377),
        ("check", IPv4Address("203.0.113.0"), "bob@example.org", 0.0),
    ],
    max_per_ip=1,
    max_per_account=3,
    base=1.6971469307441724,
    cap=0.0,
)
@given(
    st.lists(events, max_size=120),
    st.integers(1, 6),
    st.integers(1, 6),
    st.floats(0, 5),
    st.floats(0, 30),
)
def test_memory_delays_and_exemptions_stay_within_bounds(
    script: list[tuple[str, IPv4Address | IPv6Address, str, float]],
    max_per_ip: int,
    max_per_account: int,
    base: float,
    cap: float,
) -> None:
    clock = FakeClock()
    config = ThrottleConfig.model_validate(
        {
            "max_failures_per_ip": max_per_ip,
            "max_failures_per_account": max_per_account,
            "delay_base_seconds": base,
            "delay_max_seconds": cap,
            "window_seconds": 600,
            "ban_seconds": 300,
            "exempt_networks": ["192.0.2.0/24"],
        }
    )
    throttle = MemoryThrottle(config, clock=clock, max_tracked=8)

    async def play() -> None:
        for action, ip, account, pause in script:
            clock.advance(pause)
            if action == "fail":
                delay = await throttle.record_failure(ip, account)
                assert 0.0 <= delay <= cap
                if base == 0 or ip == EXEMPT:
                    assert delay == 0.0
            elif action == "succeed":
                await throttle.record_success(ip, account)
            else:
                verdict = await throttle.check(ip, account)
                assert verdict.allowed == (verdict.retry_after == 0.0)
                assert 0.0 <= verdict.retry_after <= 300
                if ip == EXEMPT:
                    assert verdict.allowed
            addresses_tracked, accounts_tracked = throttle.tracked
            assert addresses_tracked <= 8 and accounts_tracked <= 8

    asyncio.run(play())


reservations = st.tuples(
    st.sampled_from(["reserve", "fail", "succeed", "void"]),
    st.sampled_from([IPv4Address("203.0.113.1"), IPv4Address("203.0.113.2"), EXEMPT]),
    st.sampled_from(["alice@example.org", "bob@example.org"]),
    st.floats(0, 100),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(reservations, max_size=150), st.integers(1, 6), st.integers(1, 8))
def test_attempts_in_flight_plus_failures_never_pass_the_limit(
    script: list[tuple[str, IPv4Address, str, float]], max_per_ip: int, max_per_account: int
) -> None:
    """Whatever order reservations and outcomes come in, an address never has more
    reserved-and-unsettled attempts than its limit, and a ban follows the limit-th
    failure inside the window."""
    clock = FakeClock()
    config = ThrottleConfig.model_validate(
        {
            "max_failures_per_ip": max_per_ip,
            "max_failures_per_account": max_per_account,
            "delay_base_seconds": 0,
            "window_seconds": 600,
            "ban_seconds": 300,
            "exempt_networks": ["192.0.2.0/24"],
        }
    )
    throttle = MemoryThrottle(config, clock=clock)
    outstanding: dict[IPv4Address, list[tuple[str, str, float]]] = {}
    settlements = {"fail": Settlement.FAILURE, "succeed": Settlement.SUCCESS}

    async def play() -> None:
        for action, ip, account, pause in script:
            clock.advance(pause)
            mine = outstanding.setdefault(ip, [])
            if action == "reserve":
                verdict = await throttle.reserve(ip, account)
                if ip == EXEMPT:
                    assert verdict.allowed and not verdict.token
                elif verdict.allowed:
                    mine.append((account, verdict.token, clock.now))
                    # Reservations older than the window are forgotten (by design).
                    live = [each for each in mine if each[2] > clock.now - 600]
                    assert len(live) <= max_per_ip
                else:
                    assert verdict.retry_after > 0 and not verdict.token
            elif mine:
                account, token, _ = mine.pop(0)
                outcome = settlements.get(action, Settlement.VOID)
                await throttle.settle(ip, account, token, outcome)

    asyncio.run(play())
