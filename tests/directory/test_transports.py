"""Transports: domains whose mail goes to a fixed next hop instead of their MX (Postfix's
transport map, e.g. the legacy `lists.example.org` relayed to the list server)."""

from __future__ import annotations

from mailroom.directory import Directory, InvalidAddress, InvalidValue, NotFound, Transport
from tests.support.directories import Refused


async def test_transport_is_stored_with_its_next_hop_in_normal_form(directory: Directory) -> None:
    transport = await directory.set_transport("Lists.Example.ORG", "smtp:[Lists.Example.net]")
    assert transport == Transport(domain="lists.example.org", nexthop="[lists.example.net]:25")
    assert await directory.list_transports() == [transport]


async def test_transport_needs_no_local_domain(directory: Directory) -> None:
    await directory.set_transport("lists.example.org", "relay.example.net:2525")
    assert not await directory.is_local_domain("lists.example.org")
    assert [t.domain for t in await directory.list_transports()] == ["lists.example.org"]


async def test_setting_a_transport_again_replaces_it(directory: Directory) -> None:
    await directory.set_transport("lists.example.org", "[192.0.2.7]")
    await directory.set_transport("LISTS.example.org", "[2001:DB8::7]:2525")
    assert await directory.list_transports() == [
        Transport(domain="lists.example.org", nexthop="[2001:db8::7]:2525")
    ]


async def test_transports_are_listed_by_domain(directory: Directory) -> None:
    for domain in ("z.example", "a.example", "m.example"):
        await directory.set_transport(domain, "relay.example.net")
    assert [t.domain for t in await directory.list_transports()] == [
        "a.example",
        "m.example",
        "z.example",
    ]


async def test_transport_with_a_malformed_domain_or_next_hop_is_refused(
    directory: Directory, refused: Refused
) -> None:
    await directory.set_transport("lists.example.org", "[192.0.2.7]")
    async with refused(
        InvalidValue,
        "invalid next hop 'lmtp:unix:/run/lmtp': only smtp: next hops are supported, not lmtp:",
    ):
        await directory.set_transport("lists.example.org", "lmtp:unix:/run/lmtp")
    async with refused(InvalidValue, "invalid next hop '[relay.example.net:25': '[' without ']'"):
        await directory.set_transport("lists.example.org", "[relay.example.net:25")
    async with refused(
        InvalidAddress,
        "invalid address 'lists': the domain needs at least two labels, like example.org",
    ):
        await directory.set_transport("lists", "[192.0.2.7]")


async def test_removed_transport_is_gone_and_cannot_be_removed_again(
    directory: Directory, refused: Refused
) -> None:
    await directory.set_transport("lists.example.org", "[192.0.2.7]")
    await directory.set_transport("news.example.org", "[192.0.2.8]")
    await directory.remove_transport("Lists.example.org")
    assert [t.domain for t in await directory.list_transports()] == ["news.example.org"]
    async with refused(NotFound, "no transport for lists.example.org"):
        await directory.remove_transport("lists.example.org")
