"""The one grammar of next hops: where mail for a domain goes instead of its MX hosts, in
Postfix's notation (`smtp:[host]:port`, `[host]`, `host:port`, `host`, IP literals).

Three places read it: a transport's next hop (the directory stores it normalised, as
`[host]:port` or `host:port`), the relay host of `[delivery]` (validated here, kept as
written), and delivery, which reads either back as host, port and whether to look up
MX records. It lives in `config` because the relay host is validated here and `config`
imports no other room; `directory` and `delivery` use it from here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_PORT = re.compile(r"[0-9]{1,5}")
_IPV6_CHARACTERS = frozenset("0123456789abcdefABCDEF:.")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

DEFAULT_PORT = 25


class NexthopError(ValueError):
    """Text that is not a next hop; says what was wrong, in one line."""


@dataclass(frozen=True)
class Nexthop:
    host: str
    """A host name in lower-case A-labels, or an IP address in its compressed form."""
    port: int | None
    """None when none was written: the reader's default applies."""
    look_up_mx: bool
    """Whether the host's MX records are looked up first: not for a bracketed host
    (Postfix's `[host]`) nor an IP address (MX records of an address mean nothing)."""

    def normalized(self, default_port: int = DEFAULT_PORT) -> str:
        """`[host]:port` (no MX lookup) or `host:port` (MX lookup)."""
        port = default_port if self.port is None else self.port
        return f"{self.host}:{port}" if self.look_up_mx else f"[{self.host}]:{port}"


def _normalize_hostname(text: str) -> str | None:
    """A host name (one label allowed: `localhost`, `mailhub`) in lower-case A-labels."""
    name = text.removesuffix(".")
    try:
        name = name.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = name.split(".")
    if len(name) > 253 or labels[-1].isdigit():
        return None
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return name


def parse_nexthop(text: str) -> Nexthop:
    """The host, port and MX rule of a next hop written as `smtp:[host]:port`, `smtp:host`,
    `[host]`, `[host]:port`, `host:port` or `host`, or as an IP literal (`[192.0.2.7]:2525`,
    `[2001:db8::1]:25`). Raises NexthopError saying what is wrong."""
    shown = text
    value = text.strip()
    problem = (
        f"invalid next hop {shown!r}: expected smtp:[host]:port, [host]:port, host:port or host"
    )
    if not value or any(char.isspace() for char in value):
        raise NexthopError(problem)
    if value[:5].lower() == "smtp:" and not _PORT.fullmatch(value[5:]):
        # `smtp:25` is a host named smtp and its port (as the normalized form of that
        # host writes it), not the smtp: prefix and a host named 25, which no host can be.
        value = value[5:]
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        if not closed:
            raise NexthopError(f"invalid next hop {shown!r}: '[' without ']'")
        bracketed = True
    else:
        if value.count(":") > 1 and _IPV6_CHARACTERS.issuperset(value):
            raise NexthopError(
                f"invalid next hop {shown!r}: an IPv6 address needs brackets, as [2001:db8::1]:25"
            )
        host, colon, after = value.partition(":")
        if colon and not _PORT.fullmatch(after) and "." not in host:
            # `lmtp:...`, `relay:...`: Postfix's other transports, not a host and port.
            raise NexthopError(
                f"invalid next hop {shown!r}: only smtp: next hops are supported, not {host}:"
            )
        rest = colon + after
        bracketed = False
    port = None
    if rest:
        if not rest.startswith(":") or not _PORT.fullmatch(rest[1:]):
            raise NexthopError(problem)
        port = int(rest[1:])
        if not 1 <= port <= 65535:
            raise NexthopError(f"invalid next hop {shown!r}: port {port} is not in 1-65535")
    if not host:
        raise NexthopError(f"invalid next hop {shown!r}: no host")
    if "%" in host:
        raise NexthopError(f"invalid next hop {shown!r}: IPv6 zone indexes are not supported")
    try:
        return Nexthop(ipaddress.ip_address(host).compressed, port, look_up_mx=False)
    except ValueError:
        pass
    hostname = _normalize_hostname(host)
    if hostname is None:
        raise NexthopError(f"invalid next hop {shown!r}: {host!r} is not a host name or IP address")
    return Nexthop(hostname, port, look_up_mx=not bracketed)
