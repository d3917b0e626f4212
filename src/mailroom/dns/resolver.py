"""`Resolver`: dnspython's async resolver pointed at the configured servers, with a
small TTL cache shared by every caller of the host.

The cache is bounded (`MAX_CACHED` answers, the oldest dropped first) and keeps
negative answers (NXDOMAIN, NODATA) as well, for their SOA minimum or `NEGATIVE_TTL`,
as a caching resolver does: SPF's void-lookup limit and DNSBL lookups are mostly
negative. Temporary failures are never cached.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.resolver

DEFAULT_TIMEOUT = 10.0
"""Seconds one lookup may take in all (every server, every retry)."""
MAX_CACHED = 10_000
"""Answers kept at once."""
NEGATIVE_TTL = 300
"""Seconds an NXDOMAIN/NODATA is kept when the answer gives no SOA minimum."""
MAX_TTL = 86_400
"""Longest any answer is kept, whatever its TTL says."""
EDNS_PAYLOAD = 1232
"""UDP answers asked for up to this size (RFC 6891 EDNS0; DNS Flag Day 2020's value,
which avoids IP fragmentation); a larger answer comes truncated and is asked again
over TCP (RFC 7766), which dnspython does by itself."""


class DnsError(Exception):
    """A lookup of `name`/`rdtype` gave no usable answer."""

    def __init__(self, name: str, rdtype: str, text: str) -> None:
        super().__init__(f"{name} {rdtype}: {text}")
        self.name = name
        self.rdtype = rdtype


class DnsTemporaryError(DnsError):
    """SERVFAIL, a timeout, no server answering, a malformed answer: it may pass."""


class NoRecord(DnsError):
    """The name does not exist (`nxdomain` True) or has no record of the asked type."""

    def __init__(self, name: str, rdtype: str, *, nxdomain: bool) -> None:
        super().__init__(name, rdtype, "no such name" if nxdomain else "no such record")
        self.nxdomain = nxdomain


@dataclass(frozen=True)
class _Cached:
    expires: float
    texts: tuple[str, ...] | None
    """The records in presentation form; None for a negative answer."""
    nxdomain: bool


class Resolver:
    """Asks `nameservers` on `port` (empty: those of /etc/resolv.conf)."""

    def __init__(
        self,
        nameservers: list[str] | tuple[str, ...] = (),
        port: int = 53,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if nameservers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = list(nameservers)
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.port = port
        self._resolver.use_edns(0, 0, EDNS_PAYLOAD)
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
        self.lookups = 0
        """Queries sent (cache misses), for tests and metrics."""

    @property
    def dnspython(self) -> dns.asyncresolver.Resolver:
        """The underlying resolver, for code that needs dnspython's own answers."""
        return self._resolver

    async def records(self, name: str, rdtype: str) -> tuple[str, ...]:
        """The records of `name`/`rdtype` in presentation form (a TXT record's strings
        quoted, as dnspython writes them); raises NoRecord or DnsTemporaryError."""
        key = (name.rstrip(".").lower(), rdtype.upper())
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            self._cache.move_to_end(key)
        else:
            cached = await self._lookup(*key)
            self._cache[key] = cached
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        if cached.texts is None:
            raise NoRecord(key[0], key[1], nxdomain=cached.nxdomain)
        return cached.texts

    async def txt(self, name: str) -> list[bytes]:
        """Each TXT record of `name` as its character-strings joined (RFC 7208 §3.3,
        RFC 6376 §3.6.2.2); an empty list when there is none."""
        try:
            texts = await self.records(name, "TXT")
        except NoRecord:
            return []
        out: list[bytes] = []
        for text in texts:
            rdata = dns.rdata.from_text("IN", "TXT", text)
            out.append(b"".join(rdata.strings))  # type: ignore[attr-defined]
        return out

    async def addresses(self, name: str) -> list[str]:
        """`name`'s IPv6 and IPv4 addresses (AAAA first); empty when it has none."""
        found: list[str] = []
        for rdtype in ("AAAA", "A"):
            with contextlib.suppress(NoRecord):
                found.extend(await self.records(name, rdtype))
        return found

    async def _lookup(self, name: str, rdtype: str) -> _Cached:
        self.lookups += 1
        now = time.monotonic()
        try:
            absolute = dns.name.from_text(name + ".")
            answer = await self._resolver.resolve(absolute, rdtype, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as error:
            return _Cached(now + _negative_ttl(error), None, True)
        except dns.exception.DNSException as error:
            raise DnsTemporaryError(name, rdtype, str(error) or type(error).__name__) from None
        if answer.rrset is None:
            return _Cached(now + NEGATIVE_TTL, None, False)
        ttl = min(answer.rrset.ttl, MAX_TTL)
        return _Cached(now + ttl, tuple(rdata.to_text() for rdata in answer.rrset), False)


def _negative_ttl(error: dns.resolver.NXDOMAIN) -> float:
    try:
        ttl = min(response.authority[0].minimum for response in error.responses().values())  # type: ignore[no-untyped-call]
    except (AttributeError, IndexError, ValueError, KeyError):
        return NEGATIVE_TTL
    return float(min(ttl, MAX_TTL))
