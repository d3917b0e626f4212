"""Next hops of transports, in Postfix's notation (`smtp:[host]:port`, `host`, ...),
normalised to `[host]:port` (no MX lookup) or `host:port` (MX lookup)."""

from __future__ import annotations

import ipaddress
import re

from mailroom.directory.errors import InvalidValue

_PORT = re.compile(r"[0-9]{1,5}")
_IPV6_CHARACTERS = frozenset("0123456789abcdefABCDEF:.")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


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


def normalize_nexthop(text: str) -> str:
    """A Postfix transport next hop as `[host]:port` (brackets: connect to the host itself,
    no MX lookup) or `host:port` (look up MX records first).

    Accepts `smtp:[host]:port`, `smtp:host`, `[host]`, `[host]:port`, `host:port`, `host`
    and IP literals (`[192.0.2.7]:2525`, `[2001:db8::1]:25`); the port defaults to 25. An IP
    address is always bracketed: MX records of an address mean nothing. Raises InvalidValue.
    """
    shown = text
    value = text.strip()
    problem = (
        f"invalid next hop {shown!r}: expected smtp:[host]:port, [host]:port, host:port or host"
    )
    if not value or any(char.isspace() for char in value):
        raise InvalidValue(problem)
    if value[:5].lower() == "smtp:":
        value = value[5:]
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        if not closed:
            raise InvalidValue(f"invalid next hop {shown!r}: '[' without ']'")
        bracketed = True
    else:
        if value.count(":") > 1 and _IPV6_CHARACTERS.issuperset(value):
            raise InvalidValue(
                f"invalid next hop {shown!r}: an IPv6 address needs brackets, as [2001:db8::1]:25"
            )
        host, colon, after = value.partition(":")
        if colon and not _PORT.fullmatch(after) and "." not in host:
            # `lmtp:...`, `relay:...`: Postfix's other transports, not a host and port.
            raise InvalidValue(
                f"invalid next hop {shown!r}: only smtp: next hops are supported, not {host}:"
            )
        rest = colon + after
        bracketed = False
    port = 25
    if rest:
        if not rest.startswith(":") or not _PORT.fullmatch(rest[1:]):
            raise InvalidValue(problem)
        port = int(rest[1:])
        if not 1 <= port <= 65535:
            raise InvalidValue(f"invalid next hop {shown!r}: port {port} is not in 1-65535")
    if not host:
        raise InvalidValue(f"invalid next hop {shown!r}: no host")
    if "%" in host:
        raise InvalidValue(f"invalid next hop {shown!r}: IPv6 zone indexes are not supported")
    try:
        return f"[{ipaddress.ip_address(host).compressed}]:{port}"
    except ValueError:
        pass
    hostname = _normalize_hostname(host)
    if hostname is None:
        raise InvalidValue(f"invalid next hop {shown!r}: {host!r} is not a host name or IP address")
    return f"[{hostname}]:{port}" if bracketed else f"{hostname}:{port}"
