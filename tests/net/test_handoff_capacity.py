"""Each worker is handed no more connections than its descriptors hold (its capacity,
said when it is ready); with every worker full a connection is refused as over the
host's cap. The main process's own listeners keep within its own descriptors while the
handed connections count for the host (SharedConnections)."""

from __future__ import annotations

import asyncio
import socket

from mailroom.config import Listener
from mailroom.net import Refusal
from mailroom.net.edge_limits import EdgeLimits
from mailroom.net.handoff import Handed, Handoff, HandoffReceiver, SharedConnections, channel_pair


async def test_a_worker_is_handed_no_more_than_its_capacity() -> None:
    listener = Listener(name="imap", protocol="imap", address="127.0.0.1:0")
    handoff = Handoff([listener])
    received: dict[int, list[Handed]] = {0: [], 1: []}
    receivers, clients = [], []
    for index, capacity in ((0, 1), (1, 2)):
        ours, theirs = channel_pair()
        handoff.add_worker(index, ours)
        handoff.ready(index, capacity)

        def adopt(connection: socket.socket, handed: Handed, index: int = index) -> None:
            connection.close()
            received[index].append(handed)

        receiver = HandoffReceiver(theirs, adopt)
        receiver.start()
        receivers.append(receiver)
    with socket.create_server(("127.0.0.1", 0)) as server:
        handoff.listen("imap", [server])
        for _ in range(4):
            clients.append(socket.create_connection(server.getsockname()))
            async with asyncio.timeout(10):  # a bound on a lost handoff
                while sum(map(len, received.values())) < len(clients):
                    await asyncio.sleep(0.01)
        handoff.stop()
    counted = {index: [h for h in got if h.refusal is None] for index, got in received.items()}
    assert (len(counted[0]), len(counted[1])) == (1, 2)
    refused = [h.refusal for got in received.values() for h in got if h.refusal is not None]
    assert refused == [Refusal.TOO_MANY_CONNECTIONS]
    for receiver in receivers:
        receiver.stop()
    for client in clients:
        client.close()


def test_the_main_process_serves_itself_no_more_than_its_own_share() -> None:
    connections = SharedConnections(
        EdgeLimits(max_connections=5, max_connections_per_address=5), own_limit=2
    )
    assert connections.admit("192.0.2.7") is None
    assert connections.admit("192.0.2.8") is None
    assert connections.admit("192.0.2.9") is Refusal.TOO_MANY_CONNECTIONS  # its own share
    assert connections.admit_handed("192.0.2.9") is None  # a worker's: the host has room
    assert connections.admit_handed("192.0.2.9") is None
    assert connections.admit_handed("192.0.2.9") is None
    assert connections.admit_handed("192.0.2.9") is Refusal.TOO_MANY_CONNECTIONS  # host's cap
    connections.release("192.0.2.7")
    assert connections.admit("192.0.2.7") is None  # a place of its own share again
    connections.release_handed("192.0.2.9")
    assert connections.admit("192.0.2.10") is Refusal.TOO_MANY_CONNECTIONS  # its share full
    assert connections.admit_handed("192.0.2.10") is None
    assert (connections.open, connections.own) == (5, 2)
