"""Next hops of transports as the directory stores them: normalised to `[host]:port` (no
MX lookup) or `host:port` (MX lookup), the port written out. The grammar itself is
`mailroom.config.nexthop`, shared with the relay host and with delivery."""

from __future__ import annotations

from mailroom.config.nexthop import NexthopError, parse_nexthop
from mailroom.directory.errors import InvalidValue


def normalize_nexthop(text: str) -> str:
    """A Postfix transport next hop (`smtp:[host]:port`, `[host]`, `host:port`, `host`, IP
    literals) as `[host]:port` (brackets: connect to the host itself, no MX lookup) or
    `host:port` (look up MX records first); the port defaults to 25. An IP address is
    always bracketed: MX records of an address mean nothing. Raises InvalidValue."""
    try:
        return parse_nexthop(text).normalized()
    except NexthopError as error:
        raise InvalidValue(str(error)) from None
