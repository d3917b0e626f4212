"""`[imap] max_connections_per_user_ip` with worker processes: the main process counts
every worker's logins (over real links on a socket pair), forgets a dead worker's,
and its frames are checked like any input."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.app.user_ip_logins import (
    LoginCountService,
    LoginFrameError,
    LoginStart,
    RemoteLoginCounts,
    logout_frame,
    parse_allowed,
    parse_login,
    parse_logout,
)
from mailroom.ipc import Link

FAST = settings(max_examples=300, deadline=None)
values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=80)
    | st.lists(st.integers() | st.text(max_size=5), max_size=3)
)
hostile = st.dictionaries(st.sampled_from(["k", "ticket", "account", "ip", "allowed"]), values)
CLIENT = ipaddress.ip_address("192.0.2.7")
OTHER = ipaddress.ip_address("2001:db8::7")


@FAST
@given(hostile)
def test_a_hostile_login_frame_is_refused_or_read_back_the_same(frame: dict[str, object]) -> None:
    try:
        login = parse_login(frame)
    except LoginFrameError:
        return
    assert 0 < login.ticket < 2**53 and 0 < len(login.account) <= 1024
    assert parse_login(login.frame()) == login


@FAST
@given(hostile)
def test_a_hostile_answer_is_refused_or_a_boolean(frame: dict[str, object]) -> None:
    with contextlib.suppress(LoginFrameError):
        assert isinstance(parse_allowed(frame), bool)


@FAST
@given(st.dictionaries(st.sampled_from(["k", "tickets"]), values | st.lists(st.integers())))
def test_a_hostile_logout_frame_is_refused_or_positive_tickets(frame: dict[str, object]) -> None:
    try:
        tickets = parse_logout(frame)
    except LoginFrameError:
        return
    assert tickets and all(type(t) is int and 0 < t < 2**53 for t in tickets)


@FAST
@given(
    st.integers(1, 2**53 - 1),
    st.text(min_size=1, max_size=1024).filter(lambda a: "\x00" not in a),
    st.ip_addresses(),
)
def test_a_login_frame_reads_back_as_sent(ticket: int, account: str, address: object) -> None:
    login = LoginStart(ticket, account, address)  # type: ignore[arg-type]
    assert parse_login(login.frame()) == login


def test_a_logout_frame_of_no_ticket_or_a_boolean_is_refused() -> None:
    for frame in (logout_frame([]), logout_frame([True]), logout_frame([0]), {"tickets": "1"}):
        with pytest.raises(LoginFrameError):
            parse_logout(frame)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def worker_link(service: LoginCountService) -> AsyncIterator[tuple[RemoteLoginCounts, Link]]:
    """A worker's counts, linked to the main process's service over a socket pair."""
    ours, theirs = socket.socketpair()
    worker, main = Link(ours, name="worker"), Link(theirs, name="main")
    service.serve(main)
    await worker.open()
    await main.open()
    tasks = [asyncio.create_task(worker.run()), asyncio.create_task(main.run())]
    try:
        yield RemoteLoginCounts(worker), main
    finally:
        worker.close()
        main.close()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until_counted(service: LoginCountService, count: int) -> None:
    async with asyncio.timeout(10):  # a bound on a lost frame, not a measurement
        while service.count("alice@example.test", CLIENT) != count:
            await asyncio.sleep(0.01)


async def test_two_workers_share_the_host_count() -> None:
    service = LoginCountService(limit=2)
    async with worker_link(service) as (first, _), worker_link(service) as (second, _):
        assert await first.started("alice@example.test", CLIENT)
        assert await second.started("alice@example.test", CLIENT)
        assert not await first.started("alice@example.test", CLIENT)
        assert not await second.started("alice@example.test", CLIENT)
        assert await second.started("alice@example.test", OTHER)  # another address
        assert await second.started("bob@example.test", CLIENT)  # another account
        first.ended("alice@example.test", CLIENT)
        await until_counted(service, 1)
        assert await second.started("alice@example.test", CLIENT)
        second.ended("alice@example.test", CLIENT)
        second.ended("alice@example.test", CLIENT)
        await until_counted(service, 0)
        second.ended("alice@example.test", CLIENT)  # nothing left to end: nothing happens
        assert service.count("alice@example.test", CLIENT) == 0


async def test_a_dead_workers_logins_are_forgotten() -> None:
    service = LoginCountService(limit=1)
    async with worker_link(service) as (first, main_end), worker_link(service) as (second, _):
        assert await first.started("alice@example.test", CLIENT)
        assert not await second.started("alice@example.test", CLIENT)
        service.forget(main_end)  # what WorkerPool does when the worker has ended
        assert await second.started("alice@example.test", CLIENT)
        assert not await first.started("alice@example.test", CLIENT)  # a forgotten worker


async def test_a_main_process_that_does_not_answer_lets_the_login_through() -> None:
    ours, theirs = socket.socketpair()
    worker = Link(ours, name="worker")
    await worker.open()
    reading = asyncio.create_task(worker.run())
    try:
        # The other end never reads: the request times out (ANSWER_TIMEOUT).
        assert await RemoteLoginCounts(worker).started("alice@example.test", CLIENT)
    finally:
        worker.close()
        theirs.close()
        await asyncio.gather(reading, return_exceptions=True)
