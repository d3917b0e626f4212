"""Finding a domain's mail hosts: real DNS messages from a small server on 127.0.0.1,
asked by the host's resolver (mailroom.dns) as production asks a real one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mailroom.delivery.mx import MxHost, MxLookupError, NullMx, make_resolver, resolve_mx
from mailroom.dns import Resolver
from tests.support.dns_server import DnsServer, start_dns_server

Records = dict[str, dict[str, list[str]]]


@pytest.fixture
async def dns_zone() -> AsyncIterator[Callable[..., Awaitable[Resolver]]]:
    """Start a DNS server with the given records; return a resolver asking only it."""
    servers: list[DnsServer] = []

    async def serve(records: Records, servfail: set[str] | None = None) -> Resolver:
        server = await start_dns_server(records, servfail)
        servers.append(server)
        return make_resolver(["127.0.0.1"], port=server.port, timeout=1.0)

    yield serve
    for server in servers:
        assert server.transport is not None
        server.transport.close()


async def test_mx_hosts_come_in_order_of_preference_with_their_addresses(dns_zone) -> None:
    resolver = await dns_zone(
        {
            "example.test": {"MX": ["20 mx2.example.test.", "10 mx1.example.test."]},
            "mx1.example.test": {"A": ["127.0.0.2"]},
            "mx2.example.test": {"A": ["127.0.0.3"]},
        }
    )
    assert await resolve_mx("example.test", resolver) == [
        MxHost("mx1.example.test", 10, ("127.0.0.2",)),
        MxHost("mx2.example.test", 20, ("127.0.0.3",)),
    ]


async def test_ipv6_addresses_come_before_ipv4_addresses_of_one_host(dns_zone) -> None:
    # Only looked up, never connected to.
    resolver = await dns_zone(
        {
            "example.test": {"MX": ["10 mx.example.test."]},
            "mx.example.test": {"A": ["127.0.0.2"], "AAAA": ["2001:db8::25"]},
        }
    )
    [host] = await resolve_mx("example.test", resolver)
    assert host.addresses == ("2001:db8::25", "127.0.0.2")


async def test_equal_preferences_are_all_kept_in_some_order(dns_zone) -> None:
    resolver = await dns_zone(
        {
            "example.test": {
                "MX": ["10 a.example.test.", "10 b.example.test.", "5 c.example.test."]
            },
            "a.example.test": {"A": ["127.0.0.2"]},
            "b.example.test": {"A": ["127.0.0.3"]},
            "c.example.test": {"A": ["127.0.0.4"]},
        }
    )
    hosts = await resolve_mx("example.test", resolver)
    assert hosts[0].name == "c.example.test"
    assert {host.name for host in hosts[1:]} == {"a.example.test", "b.example.test"}


async def test_a_domain_without_mx_is_its_own_implicit_mx(dns_zone) -> None:
    resolver = await dns_zone({"example.test": {"A": ["127.0.0.2"]}})
    assert await resolve_mx("example.test", resolver) == [MxHost("example.test", 0, ("127.0.0.2",))]


async def test_a_null_mx_means_the_domain_takes_no_mail(dns_zone) -> None:
    resolver = await dns_zone({"example.test": {"MX": ["0 ."], "A": ["127.0.0.2"]}})
    with pytest.raises(NullMx) as caught:
        await resolve_mx("example.test", resolver)
    assert caught.value.permanent
    assert caught.value.enhanced_status == "5.1.10"
    assert "null MX" in caught.value.text


async def test_a_domain_that_does_not_exist_fails_permanently(dns_zone) -> None:
    resolver = await dns_zone({})
    with pytest.raises(MxLookupError) as caught:
        await resolve_mx("nowhere.test", resolver)
    assert caught.value.permanent
    assert caught.value.enhanced_status == "5.4.4"
    assert "Host or domain name not found" in caught.value.text


async def test_a_server_failure_is_temporary(dns_zone) -> None:
    resolver = await dns_zone({}, servfail={"broken.test"})
    with pytest.raises(MxLookupError) as caught:
        await resolve_mx("broken.test", resolver)
    assert not caught.value.permanent
    assert caught.value.enhanced_status == "4.4.3"


async def test_an_mx_host_without_address_is_skipped_for_the_next(dns_zone) -> None:
    resolver = await dns_zone(
        {
            "example.test": {"MX": ["10 gone.example.test.", "20 mx2.example.test."]},
            "mx2.example.test": {"A": ["127.0.0.3"]},
        }
    )
    assert await resolve_mx("example.test", resolver) == [
        MxHost("mx2.example.test", 20, ("127.0.0.3",))
    ]


async def test_mx_hosts_that_fail_temporarily_defer_rather_than_bounce(dns_zone) -> None:
    resolver = await dns_zone(
        {"example.test": {"MX": ["10 mx.example.test."]}}, servfail={"mx.example.test"}
    )
    with pytest.raises(MxLookupError) as caught:
        await resolve_mx("example.test", resolver)
    assert not caught.value.permanent
