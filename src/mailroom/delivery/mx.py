"""Where mail for a domain goes: its MX hosts and their addresses, in the order to try them.

RFC 5321 §5.1: MX records in order of preference (equal preferences shuffled, so
load spreads across them), each host's addresses IPv6 first, then IPv4; no MX
record means the domain itself is the one mail host (the "implicit MX"); a null
MX (RFC 7505) means the domain accepts no mail at all.

This module only asks DNS (the host's one resolver, `mailroom.dns.Resolver`, whose
TTL cache the mail authentication checks share) and says what it found or why that
failed, as a permanent or temporary error with the enhanced status (RFC 3463) a
bounce or a deferral will carry. It opens no SMTP connection; `remote` does that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass

from mailroom.dns import DnsTemporaryError, NoRecord, Resolver

# Postfix's smtp_mx_address_limit is 5 addresses; we keep more hosts but bound the
# lookups a hostile zone can make us do (one MX RRset may list hundreds of names).
MAX_MX_HOSTS = 10

DEFAULT_DNS_TIMEOUT = 10.0


class MxLookupError(Exception):
    """Mail for `domain` cannot be routed now (`permanent` False) or ever (`permanent`)."""

    def __init__(self, domain: str, enhanced_status: str, text: str) -> None:
        super().__init__(f"{enhanced_status} {text}")
        self.domain = domain
        self.enhanced_status = enhanced_status
        self.text = text

    @property
    def permanent(self) -> bool:
        return self.enhanced_status.startswith("5")


class NullMx(MxLookupError):
    """The domain publishes a null MX (RFC 7505 §3: one MX record `0 .`): it takes no mail."""

    def __init__(self, domain: str) -> None:
        # RFC 7505 §4.2: the sender's MTA bounces with 5.1.10.
        super().__init__(domain, "5.1.10", f"Recipient address has null MX: {domain}")


@dataclass(frozen=True)
class MxHost:
    """One mail host to try: its name (for logs and TLS SNI) and addresses in trying order."""

    name: str
    preference: int
    addresses: tuple[str, ...]


def make_resolver(
    nameservers: list[str], port: int = 53, timeout: float = DEFAULT_DNS_TIMEOUT
) -> Resolver:
    """A resolver that asks only `nameservers` on `port`, ignoring /etc/resolv.conf,
    and gives up on a name after `timeout` seconds in all (for tests and tools; the
    running host shares one, made by app)."""
    return Resolver(nameservers, port, timeout)


def is_ip_address(host: str) -> bool:
    """Whether `host` is an IP address rather than a name: it is its own only address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _temporary(domain: str, rdtype: str, error: Exception) -> MxLookupError:
    # RFC 3463 §3.5: 4.4.3 "Directory server failure", as Postfix says for SERVFAIL.
    return MxLookupError(
        domain, "4.4.3", f"Host or domain name lookup failed: name={domain} type={rdtype}: {error}"
    )


def _not_found(domain: str, rdtype: str) -> MxLookupError:
    # Postfix's wording and code (5.4.4 "Unable to route") for a name that does not exist.
    return MxLookupError(
        domain,
        "5.4.4",
        f"Host or domain name not found. Name service error for name={domain} type={rdtype}: "
        "Host not found",
    )


async def _query(resolver: Resolver, name: str, rdtype: str) -> tuple[str, ...] | None:
    """The records of `name`/`rdtype` in presentation form; None when the name exists
    without such records (NODATA). Raises MxLookupError for NXDOMAIN (permanent) and
    failures (temporary: a timeout, SERVFAIL, a malformed answer or name — nothing we
    did wrong and perhaps fixed tomorrow)."""
    try:
        return await resolver.records(name, rdtype)
    except NoRecord as missing:
        if missing.nxdomain:
            raise _not_found(name, rdtype) from None
        return None
    except DnsTemporaryError as error:
        raise _temporary(name, rdtype, error) from None


async def resolve_addresses(resolver: Resolver, host: str) -> tuple[str, ...]:
    """`host`'s addresses, AAAA records before A records (IPv6 tried first, then IPv4).

    Raises MxLookupError: permanent when the name does not exist or has no address,
    temporary when a lookup failed and no address was found otherwise.
    """
    results = await asyncio.gather(
        _query(resolver, host, "AAAA"), _query(resolver, host, "A"), return_exceptions=True
    )
    addresses: list[str] = []
    failures: list[MxLookupError] = []
    for result in results:
        if isinstance(result, MxLookupError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        elif result is not None:
            addresses.extend(result)
    if addresses:
        return tuple(addresses)
    temporary = [failure for failure in failures if not failure.permanent]
    if temporary:
        raise temporary[0]
    if failures:
        raise failures[0]
    raise MxLookupError(
        host,
        "5.4.4",
        f"Host or domain name not found. Name service error for name={host} type=A: "
        "Host found but no data record of requested type",
    )


def _order_by_preference(records: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order."""
    groups: dict[int, list[str]] = defaultdict(list)
    for preference, host in records:
        if host not in groups[preference]:
            groups[preference].append(host)
    ordered: list[tuple[int, str]] = []
    for preference in sorted(groups):
        hosts = groups[preference]
        random.shuffle(hosts)  # load spreading, not security
        ordered.extend((preference, host) for host in hosts)
    return ordered


async def resolve_mx(domain: str, resolver: Resolver) -> list[MxHost]:
    """The mail hosts of `domain`, in the order to try them, each with addresses.

    Raises NullMx for a null MX, MxLookupError (permanent) when the domain does not
    exist or no host has an address, MxLookupError (temporary) when DNS failed.
    Hosts whose own lookups fail are left out as long as another host remains.
    """
    answer = await _query(resolver, domain, "MX")
    if answer is None:
        # RFC 5321 §5.1: no MX records: the domain is its own implicit MX, preference 0.
        return [MxHost(domain.rstrip(".").lower(), 0, await resolve_addresses(resolver, domain))]
    records: list[tuple[int, str]] = []
    for record in answer:
        number, _, exchange = record.partition(" ")
        if not number.isdigit():
            raise _temporary(domain, "MX", ValueError(f"unreadable MX record {record!r}"))
        records.append((int(number), exchange.strip().rstrip(".").lower()))
    # RFC 7505 §3: a null MX is the only MX record, with exchange "." (here "").
    if len(records) == 1 and records[0][1] in ("", "."):
        raise NullMx(domain)
    # A "." among real MX records is a misconfiguration; the real hosts still serve.
    ordered = [record for record in _order_by_preference(records) if record[1] not in ("", ".")]
    ordered = ordered[:MAX_MX_HOSTS]
    lookups = await asyncio.gather(
        *(resolve_addresses(resolver, host) for _, host in ordered), return_exceptions=True
    )
    hosts: list[MxHost] = []
    failures: list[MxLookupError] = []
    for (preference, host), lookup in zip(ordered, lookups, strict=True):
        if isinstance(lookup, MxLookupError):
            failures.append(lookup)
        elif isinstance(lookup, BaseException):
            raise lookup
        else:
            hosts.append(MxHost(host, preference, lookup))
    if hosts:
        return hosts
    # No host has an address: temporary if any lookup might succeed on a later try.
    temporary = [failure for failure in failures if not failure.permanent]
    raise temporary[0] if temporary else failures[0]
