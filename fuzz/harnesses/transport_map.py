"""Postfix transport(5) files (`mailroom.routing.transport_map.parse_transport_map`) and
the lookup routing does with them (`find_transport`).

The input is the table's text. Contract: a `TransportMap`, or `MapFileError` whose text
is one line; `find_transport` for each key's domain (and a few others) answers without
raising, and never grants relay through the `*` entry. A crash: any other exception or
broken invariant.
"""

from __future__ import annotations

from mailroom.routing import MapFileError, parse_transport_map
from mailroom.routing.transport_map import WILDCARD, find_transport, search_keys

DOMAINS = ("", "example.org", "mail.sub.example.org", "xn--caf-dma.example")


def _no_directory_route(domain: str) -> str | None:
    return None


def one_input(data: bytes) -> None:
    try:
        table = parse_transport_map(data.decode("utf-8", "replace"), "transport")
    except MapFileError as error:
        assert "\n" not in str(error) and "\r" not in str(error), error
        return
    domains = [entry.key.lstrip(".") for entry in table if entry.key != WILDCARD]
    for domain in [*domains[:20], *DOMAINS]:
        assert search_keys(domain)[-1] == WILDCARD
        match = find_transport([table], _no_directory_route, domain)
        if match is not None and match.grants_relay:
            assert match.nexthop, match
