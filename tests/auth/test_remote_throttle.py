"""The throttle of a worker process: the main process's, over a link. Its frames are
checked like any input, it counts on the main process's throttle, and when the main
process does not answer it refuses the login (fails closed)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.auth import MemoryThrottle, ThrottleVerdict
from mailroom.auth.remote_throttle import (
    RemoteThrottle,
    ThrottleCall,
    ThrottleFrameError,
    ThrottleService,
    delay_frame,
    parse_call,
    parse_delay,
    parse_verdict,
    verdict_frame,
)
from mailroom.auth.throttle import Settlement
from mailroom.config import ThrottleConfig
from mailroom.ipc import Link

FAST = settings(max_examples=300, deadline=None)
hostile = st.dictionaries(
    st.sampled_from(
        [
            "op",
            "ip",
            "account",
            "allowed",
            "retry_after",
            "reason",
            "delay",
            "k",
            "token",
            "outcome",
        ]
    ),
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=80)
    | st.lists(st.integers(), max_size=3),
)
addresses = st.ip_addresses()


@FAST
@given(hostile)
def test_any_frame_is_a_call_a_verdict_a_delay_or_a_frame_error(frame: dict[str, object]) -> None:
    for parse in (parse_call, parse_verdict, parse_delay):
        with contextlib.suppress(ThrottleFrameError):
            parse(frame)


@FAST
@given(st.sampled_from(["check", "reserve"]), addresses, st.text(max_size=1024))
def test_a_call_comes_back_as_sent(operation: str, ip: object, account: str) -> None:
    call = ThrottleCall(operation, ip, account)  # type: ignore[arg-type]
    assert parse_call(call.frame()) == call


@FAST
@given(
    addresses,
    st.text(max_size=1024),
    st.text(alphabet="0123456789abcdefXYZ", max_size=64),
    st.sampled_from(Settlement),
)
def test_a_settlement_comes_back_as_sent(
    ip: object, account: str, token: str, outcome: Settlement
) -> None:
    call = ThrottleCall("settle", ip, account, token, outcome)  # type: ignore[arg-type]
    assert parse_call(call.frame()) == call


@FAST
@given(
    st.booleans(),
    st.floats(min_value=0, max_value=1e9),
    st.sampled_from(["allowed", "ip_banned", "account_locked", "exempt", "ip_in_flight"]),
    st.text(alphabet="0123456789abcdef", max_size=16),
)
def test_a_verdict_and_a_delay_come_back_as_sent(
    allowed: bool, seconds: float, reason: str, token: str
) -> None:
    verdict = ThrottleVerdict(allowed, seconds, reason, token)
    assert parse_verdict(verdict_frame(verdict)) == verdict
    assert parse_delay(delay_frame(seconds)) == seconds


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "check", "ip": "999.1.1.1", "account": "a"},
        {"op": "check", "ip": "192.0.2.1", "account": "a" * 1025},
        {"op": "forget", "ip": "192.0.2.1", "account": "a"},
        {"op": "check", "ip": 3232235777, "account": "a"},
        {"op": "settle", "ip": "192.0.2.1", "account": "a", "token": "t", "outcome": "maybe"},
        {"op": "settle", "ip": "192.0.2.1", "account": "a", "token": "a b", "outcome": "void"},
        {"op": "settle", "ip": "192.0.2.1", "account": "a", "token": "t" * 65, "outcome": "void"},
        {"op": "settle", "ip": "192.0.2.1", "account": "a", "outcome": "failure"},
    ],
)
def test_bad_calls_are_refused(frame: dict[str, object]) -> None:
    with pytest.raises(ThrottleFrameError):
        parse_call(frame)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 1e12, True, "1"])
def test_bad_seconds_are_refused(seconds: object) -> None:
    with pytest.raises(ThrottleFrameError):
        parse_delay({"delay": seconds})


async def linked(main_answers: bool) -> AsyncIterator[tuple[Link, Link]]:
    ours, theirs = socket.socketpair()
    worker, main = Link(ours, name="worker"), Link(theirs, name="main")
    await worker.open()
    await main.open()
    tasks = [asyncio.create_task(worker.run())]
    if main_answers:
        tasks.append(asyncio.create_task(main.run()))
    # else connected, never reading: a main process that hangs
    try:
        yield worker, main
    finally:
        worker.close()
        main.close()
        await asyncio.gather(*tasks, return_exceptions=True)


CLIENT = ipaddress.ip_address("192.0.2.7")
SUCCESS, FAILURE = Settlement.SUCCESS, Settlement.FAILURE
LIMIT = ThrottleConfig(max_failures_per_ip=3, delay_base_seconds=0.5)


async def test_two_workers_count_on_the_main_process_throttle() -> None:
    throttle = MemoryThrottle(LIMIT)
    service = ThrottleService(throttle)
    async for first, main_one in linked(main_answers=True):
        async for second, main_two in linked(main_answers=True):
            service.serve(main_one)
            service.serve(main_two)
            workers = [RemoteThrottle(first), RemoteThrottle(second)]
            # Three attempts reserved at once, over two workers: the budget is spent.
            held = [await workers[n % 2].reserve(CLIENT, f"{n}@example.test") for n in range(3)]
            assert all(verdict.allowed and verdict.token for verdict in held)
            for worker in workers:
                verdict = await worker.reserve(CLIENT, "d@example.test")
                assert (verdict.allowed, verdict.reason) == (False, "ip_in_flight")
            # One was the right password: its attempt is given back.
            assert await workers[0].settle(CLIENT, "0@example.test", held[0].token, SUCCESS) == 0
            again = await workers[1].reserve(CLIENT, "d@example.test")
            assert again.allowed
            delays = [
                await workers[1].settle(CLIENT, "1@example.test", held[1].token, FAILURE),
                await workers[0].settle(CLIENT, "2@example.test", held[2].token, FAILURE),
                await workers[1].settle(CLIENT, "d@example.test", again.token, FAILURE),
            ]
            assert delays == [0.5, 1.0, 2.0]
            for worker in workers:
                verdict = await worker.check(CLIENT, "e@example.test")
                assert (verdict.allowed, verdict.reason) == (False, "ip_banned")


async def test_a_main_process_that_does_not_answer_means_no_login() -> None:
    async for worker, _ in linked(main_answers=False):
        throttle = RemoteThrottle(worker, timeout=0.2)
        verdict = await throttle.reserve(CLIENT, "a@example.test")
        assert (verdict.allowed, verdict.reason) == (False, "throttle_unavailable")
        assert await throttle.settle(CLIENT, "a@example.test", "t", FAILURE) > 0


async def test_a_main_process_that_is_gone_means_no_login() -> None:
    async for worker, main in linked(main_answers=False):
        main.close()
        throttle = RemoteThrottle(worker, timeout=30)
        verdict = await throttle.reserve(CLIENT, "a@example.test")
        assert (verdict.allowed, verdict.reason) == (False, "throttle_unavailable")
