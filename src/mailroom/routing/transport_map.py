"""Transport tables in Postfix's transport(5) source form: where mail for a domain (or one
address) goes instead of its MX hosts (the legacy `transport` file, which sends
lists.cacert.org and issue.cacert.org to other hosts).

A line is `pattern  result`. Patterns, as transport(5) lists them: `domain` (that
domain only: Postfix's default parent_domain_matches_subdomains leaves transport_maps
out), `.domain` (any subdomain of it) and `*` (everything else). Keys are folded to
lower case; a key given twice keeps its first entry (with a warning), as postmap does.
transport(5)'s `user@domain` patterns are refused: Mailroom sends a queued message's
recipients per domain (delivery/outbound.py asks routing for the domain's next hop at
each attempt), so one address cannot go elsewhere than its domain.

Results are `transport:nexthop`, and only what maps onto Mailroom's one SMTP delivery
is taken:
- `smtp:NEXTHOP`, `relay:NEXTHOP` (relay is an smtp(8) transport in Postfix's
  master.cf) and `:NEXTHOP` (the default transport): send to NEXTHOP, written in the
  grammar of `config/nexthop.py` (`[host]:port`, `host`, …), as the directory's
  transports are;
- `smtp:`, `relay:` and `:` without a next hop: the usual route (the recipient domain's
  MX hosts), which cancels a broader pattern such as `*`.
Anything else (`local:`, `virtual:`, `lmtp:`, `error:`, `discard:`, `retry:`, a
result with no `:`) has no counterpart here and is refused with a one-line error
naming the file and line: a table is loaded whole or not at all.

Lookups follow transport(5)'s search order for a domain: `domain`, then `.parent` for
each parent domain (`sub.example.org` tries `.example.org`, then `.org`), and last `*`.
Several tables are searched key by key, as Postfix's transport_maps are: a more
specific key in a later table wins over `*` in an earlier one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mailroom.config.nexthop import NexthopError, parse_nexthop
from mailroom.directory.addresses import normalize_domain
from mailroom.directory.errors import InvalidAddress
from mailroom.routing.map_file import WHITESPACE, MapFileError, logical_lines, read_map_file

log = logging.getLogger(__name__)

WILDCARD = "*"

# transport(5) names with an SMTP client behind them in a stock master.cf; "" is
# default_transport, which is smtp on a host like the legacy one.
_SMTP_TRANSPORTS = frozenset({"", "smtp", "relay"})


@dataclass(frozen=True)
class TransportEntry:
    key: str
    """`domain`, `.domain` or `*`, normalised."""
    nexthop: str | None
    """Normalised next hop (`[host]:port` or `host:port`); None for the usual route."""
    line: int


class TransportMap:
    """A parsed transport table; `entry` is safe on any string."""

    def __init__(self, path: Path, entries: dict[str, TransportEntry]) -> None:
        self.path = path
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TransportEntry]:
        return iter(self._entries.values())

    def __repr__(self) -> str:
        return f"<TransportMap {self.path} with {len(self)} keys>"

    def get(self, key: str) -> TransportEntry | None:
        """The entry for exactly `key` (one of `search_keys`)."""
        return self._entries.get(key)


def search_keys(domain: str) -> list[str]:
    """The keys transport(5) tries for a normalised domain, most specific first (module
    docstring); the last is always `*`."""
    if not domain:
        return [WILDCARD]
    labels = domain.split(".")
    keys = [domain]
    keys.extend("." + ".".join(labels[index:]) for index in range(1, len(labels)))
    keys.append(WILDCARD)
    return keys


@dataclass(frozen=True)
class TransportMatch:
    nexthop: str | None
    """Normalised next hop; None for the usual route (MX hosts, or the relay host)."""
    grants_relay: bool
    """Whether mail to the domain is accepted from anyone, as for a directory transport:
    an entry for the domain or its parent with a next hop, never `*` (which only says
    how members' mail leaves; it must not make the host an open relay)."""


def find_transport(
    tables: Sequence[TransportMap], directory_nexthop: Callable[[str], str | None], domain: str
) -> TransportMatch | None:
    """Where mail for `domain` goes: the tables' entries key by key (each key in every
    table, in order), the directory's transport for exactly `domain` after the tables'
    entries for it; None if nothing matches."""
    for key in search_keys(domain):
        for table in tables:
            entry = table.get(key)
            if entry is not None:
                relays = entry.nexthop is not None and key != WILDCARD
                return TransportMatch(entry.nexthop, relays)
        if key == domain:
            nexthop = directory_nexthop(domain)
            if nexthop:
                return TransportMatch(nexthop, True)
    return None


def _normalized_key(key: str) -> str:
    if key == WILDCARD:
        return key
    if key.startswith("."):
        return "." + normalize_domain(key[1:])
    if "@" in key:
        raise InvalidAddress(
            key, "user@domain patterns are not supported (mail is sent on per domain)"
        )
    return normalize_domain(key)


def _nexthop_of(result: str, path: Path, line: int) -> str | None:
    transport, colon, nexthop = result.partition(":")
    if not colon:
        raise MapFileError(
            path, line, f"expected transport:nexthop (smtp:[host]:port), got {result!r}"
        )
    if transport.lower() not in _SMTP_TRANSPORTS:
        raise MapFileError(
            path,
            line,
            f"the transport {transport!r} is not supported: only smtp:, relay: and : "
            "(deliver by SMTP, to a next hop or the usual MX hosts)",
        )
    if any(char in WHITESPACE for char in result):
        raise MapFileError(path, line, f"one transport:nexthop per line, not {result!r}")
    if not nexthop:
        return None
    try:
        return parse_nexthop(nexthop).normalized()
    except NexthopError as error:
        raise MapFileError(path, line, str(error)) from None


def parse_transport_line(text: str, path: Path, line: int) -> TransportEntry:
    """One logical line of a transport table (`pattern  result`, module docstring);
    MapFileError naming `path` and `line` when it cannot be used. The one parser of a
    transport(5) line: the server's tables and `mailroom import legacy` both use it."""
    key_end = 0
    while key_end < len(text) and text[key_end] not in WHITESPACE:
        key_end += 1
    raw_key, result = text[:key_end], text[key_end:].strip(WHITESPACE)
    if not result:
        raise MapFileError(
            path, line, f"expected 'pattern transport:nexthop', got only {raw_key!r}"
        )
    try:
        key = _normalized_key(raw_key)
    except InvalidAddress as error:
        raise MapFileError(
            path, line, f"the pattern {raw_key!r} is not domain, .domain or *: {error.reason}"
        ) from None
    return TransportEntry(key, _nexthop_of(result, path, line), line)


def parse_transport_map(text: str, path: Path | str) -> TransportMap:
    """Parse the text of a transport table; MapFileError at the first mistake."""
    path = Path(path)
    entries: dict[str, TransportEntry] = {}
    for line in logical_lines(text, path):
        entry = parse_transport_line(line.text, path, line.number)
        if entry.key in entries:
            log.warning(
                "%s:%d: duplicate pattern %r; the entry on line %d is used, as Postfix does",
                path,
                line.number,
                entry.key,
                entries[entry.key].line,
            )
            continue
        entries[entry.key] = entry
    return TransportMap(path, entries)


def load_transport_map(path: Path) -> TransportMap:
    """Read and parse a transport table file; MapFileError if it cannot be used."""
    return parse_transport_map(read_map_file(path), path)
