"""The host's resolver against a real DNS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mailroom.dns import DnsTemporaryError, NoRecord, Resolver
from tests.support.dns_server import DnsServer, start_dns_server

RECORDS = {
    "example.test": {
        "TXT": ['"v=spf1 " "ip4:192.0.2.1 -all"', '"other"'],
        "A": ["192.0.2.1"],
        "AAAA": ["2001:db8::1"],
    },
    "nodata.test": {"A": ["192.0.2.9"]},
}


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    running = await start_dns_server(RECORDS, servfail={"broken.test"})
    yield running
    assert running.transport is not None
    running.transport.close()


async def test_txt_joins_character_strings(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    assert sorted(await resolver.txt("example.test")) == [b"other", b"v=spf1 ip4:192.0.2.1 -all"]


async def test_answers_come_from_the_cache_the_second_time(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    await resolver.txt("Example.TEST.")
    await resolver.txt("example.test")
    assert resolver.lookups == 1
    assert server.queries.count(("example.test", "TXT")) == 1


async def test_addresses_ipv6_first(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    assert await resolver.addresses("example.test") == ["2001:db8::1", "192.0.2.1"]


async def test_missing_name_and_missing_type_are_told_apart(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    with pytest.raises(NoRecord) as missing:
        await resolver.records("absent.test", "A")
    assert missing.value.nxdomain
    with pytest.raises(NoRecord) as nodata:
        await resolver.records("nodata.test", "TXT")
    assert not nodata.value.nxdomain
    assert await resolver.txt("absent.test") == []
    # negative answers are cached too
    await resolver.txt("absent.test")
    assert server.queries.count(("absent.test", "TXT")) == 1


async def test_servfail_is_temporary_and_not_cached(server: DnsServer) -> None:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=1)
    for _ in range(2):
        with pytest.raises(DnsTemporaryError):
            await resolver.txt("broken.test")
    assert resolver.lookups == 2


async def test_a_silent_server_times_out() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        resolver = Resolver(["127.0.0.1"], port, timeout=0.5)
        with pytest.raises(DnsTemporaryError):
            await resolver.txt("example.test")
    finally:
        transport.close()
