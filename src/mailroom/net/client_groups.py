"""Which clients count as one for the connection limits: an IPv4 address, the IPv4
address inside an IPv4-mapped IPv6 one (RFC 4291 §2.5.5.2: a dual-stack listener sees
IPv4 clients so), and an IPv6 client by its network (a /64 by default: RFC 4291 §2.5.4
gives one to a link, so one host can pick thousands of addresses from it).

`client_group` parses a peer's address as the kernel reports it (a zone index after
`%` is dropped) and never raises for what a socket can report.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_group(address: str | IPAddress, ipv6_prefix_length: int = 64) -> str:
    """The key a client's connections are counted under: `192.0.2.7`, `2001:db8::/64`
    (`2001:db8::1` itself with a prefix length of 128).
        Something that is no IP address (a Unix socket's name) is its own group."""
    if isinstance(address, str):
        try:
            parsed: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return address
    else:
        parsed = address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if not 0 <= ipv6_prefix_length <= 128:
        raise ValueError("an IPv6 prefix length is 0 to 128")
    if ipv6_prefix_length == 128:
        return str(parsed)
    network = ipaddress.IPv6Network((int(parsed), ipv6_prefix_length), strict=False)
    return str(network)
