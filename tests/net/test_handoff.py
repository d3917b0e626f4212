"""The handoff of a connection from the main process to a worker: its message is parsed
as input (any bytes give a Handed or a HandoffError), the descriptor arrives over a real
socket pair, and the main process counts connections per listener and address for the
whole host."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config import Listener
from mailroom.net import Refusal
from mailroom.net.handoff import (
    Handed,
    Handoff,
    HandoffError,
    HandoffReceiver,
    channel_pair,
    client_address,
    parse_handed,
)

FAST = settings(max_examples=300, deadline=None)


@FAST
@given(st.binary(max_size=600))
def test_any_message_is_a_handoff_or_an_error(message: bytes) -> None:
    try:
        handed = parse_handed(message)
    except HandoffError:
        return
    assert handed.listener and handed.ident >= 0


@FAST
@given(
    st.text(min_size=1, max_size=40).filter(lambda name: "\n" not in name),
    st.integers(0, 10**18 - 1),
    st.none() | st.sampled_from(list(Refusal)),
)
def test_a_handoff_comes_back_as_sent(name: str, ident: int, refusal: Refusal | None) -> None:
    handed = Handed(name, ident, refusal)
    assert parse_handed(handed.encode()) == handed


@pytest.mark.parametrize(
    "message", [b"imap\n1", b"imap\n-1\n", b"\n1\n", b"imap\n1\nEXPLODE", b"imap\n\xff\n", b""]
)
def test_bad_handoffs_are_refused(message: bytes) -> None:
    with pytest.raises(HandoffError):
        parse_handed(message)


def test_a_mapped_ipv6_client_counts_as_its_ipv4_address() -> None:
    assert client_address(("::ffff:192.0.2.7", 143, 0, 0)) == "192.0.2.7"
    assert client_address(("2001:db8::1", 143, 0, 0)) == "2001:db8::1"


async def test_connections_go_to_the_least_busy_worker_up_to_the_host_cap() -> None:
    listener = Listener(
        name="imap", protocol="imap", address="127.0.0.1:0", max_connections_per_ip=3
    )
    handoff = Handoff([listener])
    received: dict[int, list[Handed]] = {0: [], 1: []}
    receivers, clients = [], []
    for index in (0, 1):
        ours, theirs = channel_pair()
        handoff.add_worker(index, ours)
        handoff.ready(index)

        def adopt(connection: socket.socket, handed: Handed, index: int = index) -> None:
            connection.close()
            received[index].append(handed)

        receiver = HandoffReceiver(theirs, adopt)
        receiver.start()
        receivers.append(receiver)
    starting, _unused = channel_pair()
    handoff.add_worker(2, starting)  # not ready: handed nothing, though it has the fewest
    with socket.create_server(("127.0.0.1", 0)) as server:
        handoff.listen("imap", [server])
        for _ in range(4):
            clients.append(socket.create_connection(server.getsockname()))
            async with asyncio.timeout(10):
                while sum(map(len, received.values())) < len(clients):
                    await asyncio.sleep(0.01)
        handoff.stop()
    refusals = [handed.refusal for handed in received[0] + received[1]]
    assert refusals.count(Refusal.TOO_MANY_FROM_ADDRESS) == 1
    assert (len(received[0]), len(received[1])) == (2, 2)
    assert handoff.open_connections() == {0: 2, 1: 2, 2: 0}
    handoff.closed(0, [handed.ident for handed in received[0]])
    assert handoff.open_connections() == {0: 0, 1: 2, 2: 0}
    handoff.remove_worker(1)
    handoff.remove_worker(2)
    _unused.close()
    assert handoff.open_connections() == {0: 0}
    for receiver in receivers:
        receiver.stop()
    for client in clients:
        client.close()
