"""`[dnsbl]`: the DNS blocklists asked about each client of a port-25 listener, in
Postfix's notation, so a `postscreen_dnsbl_sites` line can be copied over.

A site is `domain[=filter][*weight]` (postconf(5), postscreen_dnsbl_sites):
- `filter` is four dot-separated octets, each a number or a bracketed list of numbers
  and `low..high` ranges separated by `;`: `127.0.0.[2..11]`, `127.0.[0..255].[1;3]`;
  only answers it matches count (lists answer 127.255.255.x for their own errors);
- `weight` (default 1, negative for allowlists) is added to the client's score for a
  listing; the client is refused when the score reaches `threshold`.
The grammar is hand-written: it is Postfix's, and no library reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, field_validator

from mailroom.config.section import Section

MAX_SITES = 16
"""Sites a config may name: each is one DNS lookup per connection (two when listed)."""
MAX_SITE_TEXT = 512
"""Longest site text read at all."""
MAX_WEIGHT = 1000
MAX_ZONE_LENGTH = 253 - 64
"""A zone leaves room for an IPv6 query's 32 nibbles and their dots (RFC 5782 §2.4)."""

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_NUMBER = re.compile(r"[0-9]{1,3}\Z")
_WEIGHT = re.compile(r"[+-]?[0-9]{1,4}\Z")


class DnsblSiteError(ValueError):
    """A site that is not `domain[=filter][*weight]`; the message says which part."""


@dataclass(frozen=True)
class AnswerFilter:
    """Which A records of a list count: per octet, the ranges (inclusive) it may be in."""

    octets: tuple[tuple[tuple[int, int], ...], ...]

    def matches(self, address: str) -> bool:
        """Whether `address` (dotted IPv4, as a list answers) is one the filter counts."""
        parts = address.split(".")
        if len(parts) != 4 or not all(_NUMBER.match(part) for part in parts):
            return False
        return all(
            any(low <= int(part) <= high for low, high in ranges)
            for part, ranges in zip(parts, self.octets, strict=True)
        )

    def __str__(self) -> str:
        return ".".join(_octet_text(ranges) for ranges in self.octets)


@dataclass(frozen=True)
class DnsblSite:
    """One list: its zone, the answers that count, and what a listing weighs."""

    zone: str
    answers: AnswerFilter | None = None
    """None: every answer counts."""
    weight: int = 1

    def __str__(self) -> str:
        text = self.zone
        if self.answers is not None:
            text += f"={self.answers}"
        if self.weight != 1:
            text += f"*{self.weight}"
        return text


def parse_site(text: str) -> DnsblSite:
    """`zen.example=127.0.0.[2..11]*2` read; DnsblSiteError for anything else."""
    if len(text) > MAX_SITE_TEXT:
        raise DnsblSiteError(f"a site is at most {MAX_SITE_TEXT} characters")
    rest, star, weight_text = text.strip().partition("*")
    weight = 1
    if star:
        if not _WEIGHT.match(weight_text) or abs(int(weight_text)) > MAX_WEIGHT:
            raise DnsblSiteError(
                f"{_shown(weight_text)} is not a weight (an integer from {-MAX_WEIGHT} "
                f"to {MAX_WEIGHT})"
            )
        weight = int(weight_text)
    zone, equals, filter_text = rest.partition("=")
    zone = zone.strip().rstrip(".").lower()
    _check_zone(zone)
    answers = parse_filter(filter_text.strip()) if equals else None
    return DnsblSite(zone, answers, weight)


def parse_filter(text: str) -> AnswerFilter:
    """`127.0.0.[2..11]` read; DnsblSiteError for anything else."""
    octets = _split_octets(text)
    if len(octets) != 4:
        raise DnsblSiteError(f"{_shown(text)} is not four octets, like 127.0.0.[2..11]")
    return AnswerFilter(tuple(_parse_octet(octet) for octet in octets))


def _split_octets(text: str) -> list[str]:
    """Split at the dots outside brackets (a range's `..` is inside them)."""
    parts: list[str] = []
    current = ""
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if depth not in (0, 1):
            raise DnsblSiteError(f"{_shown(text)} has unbalanced brackets")
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise DnsblSiteError(f"{_shown(text)} has unbalanced brackets")
    parts.append(current)
    return parts


def _parse_octet(text: str) -> tuple[tuple[int, int], ...]:
    if _NUMBER.match(text):
        value = _octet_value(text)
        return ((value, value),)
    if not (text.startswith("[") and text.endswith("]")) or len(text) < 3:
        raise DnsblSiteError(f"{_shown(text)} is not an octet: a number or [list]")
    ranges = []
    for item in text[1:-1].split(";"):
        low_text, dots, high_text = item.partition("..")
        low = _octet_value(low_text)
        high = _octet_value(high_text) if dots else low
        if high < low:
            raise DnsblSiteError(f"{_shown(item)}: the range runs backwards")
        ranges.append((low, high))
    return tuple(ranges)


def _octet_value(text: str) -> int:
    if not _NUMBER.match(text) or int(text) > 255:
        raise DnsblSiteError(f"{_shown(text)} is not a number from 0 to 255")
    return int(text)


def _octet_text(ranges: tuple[tuple[int, int], ...]) -> str:
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return str(ranges[0][0])
    items = [str(low) if low == high else f"{low}..{high}" for low, high in ranges]
    return "[" + ";".join(items) + "]"


def _check_zone(zone: str) -> None:
    if not zone:
        raise DnsblSiteError("the site has no domain")
    if len(zone) > MAX_ZONE_LENGTH:
        raise DnsblSiteError(f"the domain is longer than {MAX_ZONE_LENGTH} characters")
    if "." not in zone or not all(_LABEL.match(label) for label in zone.split(".")):
        raise DnsblSiteError(f"{_shown(zone)} is not a domain name")


def _shown(text: str) -> str:
    return repr(text[:60])


class DnsblConfig(Section):
    """DNS blocklists (RFC 5782) asked about each client connecting to a port-25 (smtp)
    listener; a listed client is refused with `554 5.7.1`. A list that cannot be asked
    (timeout, SERVFAIL) lets the client in: mail must not stop when a list does."""

    sites: list[str] = Field(default_factory=list, max_length=MAX_SITES)
    """Lists in Postfix's `postscreen_dnsbl_sites` notation, e.g.
    `"zen.spamhaus.org=127.0.0.[2..11]"` or `"list.dnswl.org=127.0.[0..255].[1..3]*-2"`
    (an allowlist: negative weight). Empty: no checks."""
    threshold: int = Field(default=1, ge=1, le=MAX_WEIGHT)
    """The score (sum of the weights of the lists naming the client) that refuses it
    (Postfix's `postscreen_dnsbl_threshold`)."""
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long all lookups for one connection may take together; lists that have not
    answered by then count as not listing the client."""

    @field_validator("sites")
    @classmethod
    def _sites(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_site(text)
        return value

    @property
    def parsed_sites(self) -> tuple[DnsblSite, ...]:
        return tuple(parse_site(text) for text in self.sites)
