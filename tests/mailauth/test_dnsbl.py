"""DNSBL checks of a client address against lists published by a real DNS server on
127.0.0.1, through the host's resolver (RFC 5782 query names, Postfix's filters and
weights)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.config.dnsbl import parse_site
from mailroom.dns import Resolver
from mailroom.mailauth.dnsbl import DnsblChecker, query_name, reply_safe
from tests.support.dns_server import DnsServer, start_dns_server

LISTED_V4 = "192.0.2.99"
LISTED_V6 = "2001:db8::1:99"
V6_NAME = "9.9.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

RECORDS = {
    "99.2.0.192.black.test": {
        "A": ["127.0.0.2"],
        "TXT": ['"Listed: see\\013\\010http://black.test/99"'],
    },
    f"{V6_NAME}.black.test": {"A": ["127.0.0.4"]},
    "99.2.0.192.errors.test": {"A": ["127.255.255.254"]},
    "99.2.0.192.white.test": {"A": ["127.0.10.2"]},
    "99.2.0.192.weak.test": {"A": ["127.0.0.3"]},
}


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    running = await start_dns_server(RECORDS, servfail={"99.2.0.192.broken.test"})
    yield running
    assert running.transport is not None
    running.transport.close()


def checker(server: DnsServer, *sites: str, threshold: int = 1) -> DnsblChecker:
    resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
    return DnsblChecker(resolver, [parse_site(s) for s in sites], threshold=threshold, timeout=5)


def test_ipv4_octets_are_reversed() -> None:
    assert query_name(ipaddress.ip_address("192.0.2.99"), "zen.test") == "99.2.0.192.zen.test"


def test_ipv6_nibbles_are_reversed() -> None:
    # RFC 5782 §2.4's example, 2001:db8:1:2:3:4:567:89ab
    name = query_name(ipaddress.ip_address("2001:db8:1:2:3:4:567:89ab"), "ugly.example")
    assert name == "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example"


def test_a_scoped_ipv6_address_is_asked_without_its_scope() -> None:
    """Found by fuzz/harnesses/dnsbl_sites.py (corpus: crash-scoped-ipv6): `exploded`
    raised AddressValueError for an address with a zone (a link-local peer is one)."""
    scoped = query_name(ipaddress.ip_address("fe80::1%eth0"), "bl.test")
    assert scoped == query_name(ipaddress.ip_address("fe80::1"), "bl.test")


def test_an_ipv4_mapped_address_is_asked_as_ipv4() -> None:
    mapped = ipaddress.ip_address("::ffff:192.0.2.99")
    assert query_name(mapped, "zen.test") == "99.2.0.192.zen.test"


@given(st.ip_addresses())
def test_every_address_gives_a_name_of_its_labels_then_the_zone(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    name = query_name(address, "bl.test")
    labels = name.removesuffix(".bl.test").split(".")
    v4 = address.version == 4 or address.ipv4_mapped is not None  # type: ignore[union-attr]
    assert len(labels) == (4 if v4 else 32)
    assert len(name) <= 253


async def test_a_listed_ipv4_client_is_refused_with_postfix_wording(server: DnsServer) -> None:
    text = await checker(server, "black.test=127.0.0.[2..11]").refusal(LISTED_V4)
    assert text == (
        "Service unavailable; Client host [192.0.2.99] blocked using black.test; "
        "Listed: see http://black.test/99"
    )


async def test_a_listed_ipv6_client_is_refused(server: DnsServer) -> None:
    verdict = await checker(server, "black.test").check(LISTED_V6)
    assert verdict.refused
    assert [(item.site.zone, item.answers) for item in verdict.listings] == [
        ("black.test", ("127.0.0.4",))
    ]


async def test_an_unlisted_client_is_let_in(server: DnsServer) -> None:
    assert await checker(server, "black.test").refusal("192.0.2.1") is None


async def test_answers_outside_the_filter_do_not_count(server: DnsServer) -> None:
    # 127.255.255.254 is what a list answers about its own trouble, not a listing.
    verdict = await checker(server, "errors.test=127.0.0.[2..11]").check(LISTED_V4)
    assert (verdict.listings, verdict.refused) == ((), False)


async def test_weights_add_up_to_the_threshold(server: DnsServer) -> None:
    sites = ("black.test*2", "weak.test*1")
    assert (await checker(server, *sites, threshold=3).check(LISTED_V4)).refused
    assert not (await checker(server, "weak.test", threshold=3).check(LISTED_V4)).refused


async def test_an_allowlist_with_a_negative_weight_lets_a_listed_client_in(
    server: DnsServer,
) -> None:
    sites = ("black.test", "white.test=127.0.[0..255].[1..3]*-2")
    verdict = await checker(server, *sites).check(LISTED_V4)
    assert (verdict.score, verdict.refused) == (-1, False)
    assert await checker(server, *sites).refusal(LISTED_V4) is None


async def test_a_failing_list_lets_the_client_in_and_is_reported(server: DnsServer) -> None:
    verdict = await checker(server, "broken.test").check(LISTED_V4)
    assert (verdict.refused, verdict.unanswered) == (False, ("broken.test",))


async def test_a_list_failing_beside_a_listing_one_does_not_save_the_client(
    server: DnsServer,
) -> None:
    verdict = await checker(server, "broken.test", "black.test").check(LISTED_V4)
    assert verdict.refused
    assert verdict.blocking is not None and verdict.blocking.site.zone == "black.test"


async def test_answers_are_cached_by_the_resolver(server: DnsServer) -> None:
    check = checker(server, "black.test", "weak.test")
    await check.check("192.0.2.1")
    await check.check("192.0.2.1")
    assert sorted(server.queries) == [
        ("1.2.0.192.black.test", "A"),
        ("1.2.0.192.weak.test", "A"),
    ]


def test_a_list_text_is_made_safe_for_a_reply_line() -> None:
    assert reply_safe("bad\r\n554 5.7.1 injected\x00") == "bad 554 5.7.1 injected"
    assert reply_safe("\r\n\t ") is None
    assert reply_safe("x" * 1000) == "x" * 200
