"""Answers larger than a UDP datagram may carry: the test server truncates them as a
real one does, and the host's resolver (EDNS0, 1232 octets) asks again over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import dns.asyncquery
import dns.flags
import dns.message
import pytest

from mailroom.dns import Resolver
from tests.support.dns_server import DnsServer, start_dns_server


def strings(total: int, letter: str) -> str:
    """A TXT record of `total` octets, as 250-octet character-strings."""
    pieces = [letter * 250] * (total // 250) + [letter * (total % 250)]
    return " ".join(f'"{piece}"' for piece in pieces if piece)


RECORDS = {
    "key.test": {"TXT": [strings(800, "k")]},  # a 4096-bit DKIM key is about this long
    "huge.test": {"TXT": [strings(3000, "h")]},
}


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    running = await start_dns_server(RECORDS)
    yield running
    assert running.transport is not None
    running.transport.close()


async def test_an_answer_within_the_edns_size_comes_over_udp(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    assert await resolver.txt("key.test") == [b"k" * 800]
    assert server.queries == [("key.test", "TXT")]


async def test_a_larger_answer_is_truncated_and_asked_again_over_tcp(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    assert await resolver.txt("huge.test") == [b"h" * 3000]
    assert server.queries == [("huge.test", "TXT"), ("huge.test", "TXT/tcp")]


async def test_without_edns_the_server_truncates_at_512_octets(server: DnsServer) -> None:
    query = dns.message.make_query("key.test", "TXT")  # no EDNS
    response = await dns.asyncquery.udp(query, "127.0.0.1", timeout=2, port=server.port)
    assert response.flags & dns.flags.TC
    assert response.answer == []
    whole = await dns.asyncquery.tcp(query, "127.0.0.1", timeout=2, port=server.port)
    assert not whole.flags & dns.flags.TC
    assert b"".join(whole.answer[0][0].strings) == b"k" * 800
