"""SPF (RFC 7208): may the client's address send mail for the MAIL FROM domain, and for
the HELO name?

The evaluation of the record (mechanisms, macros, modifiers) is spf3's (the maintained
fork of pyspf); its DNS is blocking, so it runs in a thread of its own pool and every lookup it
makes is answered by the host's one resolver (`mailroom.dns.Resolver`, its cache
shared with DKIM, DMARC and DNSBL) on the event loop. The limits of RFC 7208 §4.6.4
are ours, not spf3's module globals: at most `max_dns_lookups` mechanisms and modifiers
that cause DNS queries (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`), at most
`max_void_lookups` answers that are empty or NXDOMAIN (beyond: permerror), and one time
limit for the whole evaluation (beyond: temperror, §4.6.4 and §11.1). Each check asks
with an identity: `mailfrom` (§2.4; a null reverse-path is checked as
`postmaster@<HELO name>`) or `helo` (§2.3).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any

import spf

from mailroom.dns import DnsTemporaryError, NoRecord, Resolver

log = logging.getLogger("mailroom.mailauth")

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
"""The results of check_host() (RFC 7208 §2.6)."""
MAX_DNS_LOOKUPS = 10
"""RFC 7208 §4.6.4: terms that cause DNS queries, per evaluation."""
MAX_VOID_LOOKUPS = 2
"""RFC 7208 §4.6.4: lookups answered with no record, per evaluation."""
TIME_LIMIT = 20.0
"""Seconds one evaluation may take in all (RFC 7208 §4.6.4: "at least 20 seconds")."""
THREADS = 16
"""Evaluations at once. They have threads of their own, not the event loop's default
pool: an evaluation mostly waits for DNS, up to its time limit, and must not hold up the
threads that write mail to disk."""

_evaluations = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="spf")


@dataclass(frozen=True)
class SpfLimits:
    """The bounds of one evaluation (RFC 7208 §4.6.4)."""

    max_dns_lookups: int = MAX_DNS_LOOKUPS
    max_void_lookups: int = MAX_VOID_LOOKUPS
    time_limit: float = TIME_LIMIT


@dataclass(frozen=True)
class SpfResult:
    """One check_host() result for one identity."""

    result: str
    """One of RESULTS."""
    identity: str
    """"mailfrom" or "helo" (RFC 7208 §2.3, §2.4)."""
    sender: str
    """The address checked: the reverse-path, or postmaster@<HELO> for a null one / HELO."""
    domain: str
    """The domain whose record was asked (lower case; "" when there was none to ask)."""
    reason: str
    """Why, for the log and the Authentication-Results comment."""


async def check_mail_from(
    resolver: Resolver,
    *,
    client_ip: str,
    sender: str,
    helo: str,
    receiver: str,
    limits: SpfLimits = SpfLimits(),
) -> SpfResult:
    """The MAIL FROM identity (RFC 7208 §2.4): `sender` ("" for the null reverse-path,
    then checked as postmaster@`helo`)."""
    if not sender:
        return await _check(resolver, client_ip, f"postmaster@{helo}", helo, receiver, limits)
    return await _check(resolver, client_ip, sender, helo, receiver, limits, "mailfrom")


async def check_helo(
    resolver: Resolver,
    *,
    client_ip: str,
    helo: str,
    receiver: str,
    limits: SpfLimits = SpfLimits(),
) -> SpfResult:
    """The HELO identity (RFC 7208 §2.3): postmaster@`helo`. An address literal or a
    name that is not a domain has no record to ask: none."""
    return await _check(resolver, client_ip, f"postmaster@{helo}", helo, receiver, limits, "helo")


def domain_of(address: str) -> str:
    """The domain part of an address, lower case, without a final dot."""
    return address.rpartition("@")[2].rstrip(".").lower()


def checkable_domain(domain: str) -> bool:
    """Whether `domain` is a name check_host() can ask about (RFC 7208 §4.3): dotted,
    labels of 1..63 octets, not an address literal, ASCII."""
    if not domain or len(domain) > 253 or "." not in domain or not domain.isascii():
        return False
    if domain.startswith("[") or _is_address(domain):
        return False
    return all(0 < len(label) < 64 for label in domain.split("."))


async def _check(
    resolver: Resolver,
    client_ip: str,
    sender: str,
    helo: str,
    receiver: str,
    limits: SpfLimits,
    identity: str = "mailfrom",
) -> SpfResult:
    domain = domain_of(sender)
    if not checkable_domain(domain):
        return SpfResult("none", identity, sender, "", f"no domain to check in {sender!r}")
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        return SpfResult("none", identity, sender, domain, f"no client address ({client_ip!r})")
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + limits.time_limit
    query = _Query(client_ip, sender, helo, receiver, resolver, loop, deadline, limits)
    try:
        result, _code, explanation = await loop.run_in_executor(_evaluations, query.check)
    except (spf.TempError, spf.PermError) as error:  # raised outside check()'s own handling
        result = "temperror" if isinstance(error, spf.TempError) else "permerror"
        explanation = str(error)
    result = str(result).lower()
    if result not in RESULTS:  # "ambiguous" and the like belong to spf3's harsh mode only
        result = "permerror"
    reason = _reason(result, client_ip, domain, str(explanation))
    return SpfResult(result, identity, sender, domain, reason)


def _reason(result: str, client_ip: str, domain: str, explanation: str) -> str:
    if result == "pass":
        return f"{domain} designates {client_ip} as permitted sender"
    if result in ("fail", "softfail"):
        return f"{domain} does not designate {client_ip} as permitted sender"
    if result == "neutral":
        return f"{client_ip} is neither permitted nor denied by {domain}"
    if result == "none":
        return f"{domain} publishes no SPF record"
    return explanation


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class _Query(spf.query):  # type: ignore[misc]  # spf3 is untyped
    """spf3's evaluation with its DNS answered by our resolver and our limits.

    Runs in a worker thread: each lookup is handed to the event loop and waited for,
    never longer than what is left of the time limit."""

    def __init__(
        self,
        client_ip: str,
        sender: str,
        helo: str,
        receiver: str,
        resolver: Resolver,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
        limits: SpfLimits,
    ) -> None:
        super().__init__(client_ip, sender, helo, receiver=receiver, strict=True)
        self._resolver = resolver
        self._loop = loop
        self._deadline = deadline
        self._limits = limits

    def check_lookups(self) -> None:
        """RFC 7208 §4.6.4: one more term that causes DNS queries."""
        self.lookups += 1
        if self.lookups > self._limits.max_dns_lookups:
            raise spf.PermError(f"more than {self._limits.max_dns_lookups} DNS lookups")

    def dns(
        self,
        name: str,
        qtype: str,
        cnames: object = None,
        ignore_void: bool = False,
    ) -> list[Any]:
        """The answers to `name`/`qtype` in the shapes spf3 expects ([] for none)."""
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []  # not a DNS name: spf3's own rule (RFC 7208 §4.3)
        cached: list[Any] | None = self.cache.get((name, qtype))
        if cached is not None:
            return cached
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise spf.TempError("SPF evaluation took longer than its time limit")
        future = asyncio.run_coroutine_threadsafe(_answers(self._resolver, name, qtype), self._loop)
        try:
            found = future.result(timeout=remaining)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise spf.TempError("SPF evaluation took longer than its time limit") from None
        except DnsTemporaryError as error:
            raise spf.TempError(f"DNS {error}") from None
        self.cache[(name, qtype)] = found
        if not found and not ignore_void:
            self.void_lookups += 1  # RFC 7208 §4.6.4
            if self.void_lookups > self._limits.max_void_lookups:
                raise spf.PermError(
                    f"void lookup limit of {self._limits.max_void_lookups} exceeded"
                )
        return found


async def _answers(resolver: Resolver, name: str, qtype: str) -> list[Any]:
    """spf3's shapes: an address text for A/AAAA, (preference, exchange) for MX, a
    name for PTR, a tuple of the joined character-strings for TXT/SPF."""
    if qtype in ("TXT", "SPF"):
        if qtype == "SPF":
            return []  # type 99 is obsolete (RFC 7208 §3.1); spf3 asks it in harsh mode only
        return [(text,) for text in await resolver.txt(name)]
    try:
        records = await resolver.records(name, qtype)
    except NoRecord:
        return []
    if qtype == "MX":
        found: list[Any] = []
        for record in records:
            preference, _, exchange = record.partition(" ")
            if preference.isdigit() and exchange:
                found.append((int(preference), exchange.rstrip(".").lower()))
        return found
    if qtype == "PTR":
        return [record.rstrip(".").lower() for record in records]
    return list(records)
