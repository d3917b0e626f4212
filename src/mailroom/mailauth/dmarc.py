"""DMARC (RFC 7489): does the domain in the message's From: header vouch for it, through
an aligned SPF or DKIM pass, and what does it ask receivers to do when it does not?

- the author domain is the domain of the From: field (§6.6.1); a message whose From:
  fields name several domains is checked against each and the worst result is kept
  (§6.6.1 lets a receiver do so; otherwise a second From: would dodge the policy);
- the policy record is found at `_dmarc.<author domain>`, else at `_dmarc.<its
  organisational domain>` (§6.6.3), the organisational domain being the public suffix
  list's registrable domain (§3.2) from `publicsuffixlist`, which ships the list with the
  package (no download at run time);
- relaxed alignment is equal organisational domains, strict is equal domains (§3.1);
- `sp` applies to mail from a subdomain of the domain that published the record;
  `pct` samples which failing messages get the policy, the rest the next milder one
  (§6.6.4: reject becomes quarantine, quarantine becomes none).

The record's syntax is the `dmarc` package's parser (`Policy.parse_record`). Its
alignment check is not used: it compares reversed-name prefixes, so `co.uk` would align
with `example.co.uk`, and it expects publicsuffix2's API.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import dmarc as dmarc_record
from publicsuffixlist import PublicSuffixList

from mailroom.dns import DnsTemporaryError, Resolver
from mailroom.mailauth.spf import SpfResult
from mailroom.message.addresses import MISSING_DOMAIN, parse_addresses
from mailroom.message.headers import HeaderBlock

MAX_AUTHOR_DOMAINS = 5
"""Distinct From: domains checked at most; a message with more is a permerror."""
POLICIES = ("none", "quarantine", "reject")


class DkimOutcome(Protocol):
    """What DMARC needs of a DKIM verification (mailauth.dkim_verify.DkimResult)."""

    @property
    def result(self) -> str: ...

    @property
    def domain(self) -> str: ...


@dataclass(frozen=True)
class DmarcResult:
    result: str
    """pass, fail, none, temperror or permerror (RFC 8601 §2.7.1, RFC 7489 §11.2)."""
    from_domain: str
    """The author domain ("" when the message names none)."""
    policy: str = "none"
    """The published policy that applies to it (p, or sp for a subdomain)."""
    disposition: str = "none"
    """What the policy asks for this message after `pct` sampling (§6.6.4)."""
    reason: str = ""
    temporary: str = ""
    """For a temperror: which aligned identity could not be checked ("spf", "dkim")."""


@functools.cache
def public_suffix_list() -> PublicSuffixList:
    """The list shipped with `publicsuffixlist` (read once; thread-safe after that).
    An unknown top-level domain counts as a public suffix (its `accept_unknown`)."""
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registrable domain of `domain` (RFC 7489 §3.2); the domain itself when the
    list gives none (it is a public suffix, or not a valid name)."""
    domain = domain.rstrip(".").lower()
    found = public_suffix_list().privatesuffix(domain)
    return found if isinstance(found, str) else domain


def aligned(identifier: str, author: str, mode: str) -> bool:
    """RFC 7489 §3.1: strict ("s") is the same name, relaxed ("r") the same
    organisational domain."""
    identifier, author = identifier.rstrip(".").lower(), author.rstrip(".").lower()
    if not identifier or not author:
        return False
    if identifier == author:
        return True
    return mode != "s" and organizational_domain(identifier) == organizational_domain(author)


@dataclass(frozen=True)
class AuthorDomains:
    """The domains of the From: field(s) (RFC 7489 §6.6.1), or why there are none."""

    domains: tuple[str, ...]
    problem: str = ""


def author_domains(header: HeaderBlock) -> AuthorDomains:
    """The distinct domains of the addresses in the From: fields, lower case."""
    found: list[str] = []
    fields = [f for f in header.fields if f.name.lower() == "from"]
    if not fields:
        return AuthorDomains((), "no From: field")
    for field in fields:
        for address in parse_addresses(field.value):
            host = address.host
            if host is None or host == MISSING_DOMAIN:
                continue
            domain = host.strip().rstrip(".").lower()
            if domain and domain not in found:
                found.append(domain)
            if len(found) > MAX_AUTHOR_DOMAINS:
                return AuthorDomains((), f"more than {MAX_AUTHOR_DOMAINS} From: domains")
    if not found:
        return AuthorDomains((), "no domain in From:")
    return AuthorDomains(tuple(found))


@dataclass(frozen=True)
class PolicyRecord:
    """The record found for an author domain, and where."""

    text: str
    published_at: str


async def find_record(resolver: Resolver, domain: str) -> PolicyRecord | None:
    """RFC 7489 §6.6.3: the one DMARC record at `_dmarc.<domain>`, else at
    `_dmarc.<organisational domain>`; None when there is none (or more than one).
    Raises DnsTemporaryError."""
    record = await _record_at(resolver, domain)
    if record is not None:
        return PolicyRecord(record, domain)
    organizational = organizational_domain(domain)
    if organizational == domain:
        return None
    record = await _record_at(resolver, organizational)
    return None if record is None else PolicyRecord(record, organizational)


async def _record_at(resolver: Resolver, domain: str) -> str | None:
    texts = await resolver.txt(f"_dmarc.{domain}")
    # §6.6.3: records that do not start with "v=DMARC1" are discarded; several left over
    # end the discovery as if there were none.
    records = [t for t in texts if _is_dmarc(t)]
    if len(records) != 1:
        return None
    return records[0].decode("ascii", "replace")


def _is_dmarc(text: bytes) -> bool:
    head, _, _ = text.partition(b";")
    tag, equals, value = head.partition(b"=")
    return bool(equals) and tag.strip() == b"v" and value.strip() == b"DMARC1"


def evaluate(
    author: str,
    record: PolicyRecord,
    spf: SpfResult | None,
    dkim: Sequence[DkimOutcome],
    *,
    sample: Callable[[], float] = random.random,
) -> DmarcResult:
    """The result for one author domain with its record (pure; §6.6.2, §6.6.4).
    `sample` gives a number in [0, 1) for `pct`."""
    try:
        policy = dmarc_record.Policy("DMARC1", author)
        policy.parse_record(record.text, strict=False)
    except dmarc_record.RecordSyntaxError as error:
        return DmarcResult("permerror", author, reason=f"bad DMARC record: {error}")
    applies = policy.p.value
    if record.published_at != author and policy.sp.value is not None:
        applies = policy.sp.value
    aspf = "s" if policy.aspf.value == "s" else "r"
    adkim = "s" if policy.adkim.value == "s" else "r"
    if spf is not None and spf.result == "pass" and aligned(spf.domain, author, aspf):
        return DmarcResult("pass", author, applies, reason=f"SPF aligned ({spf.domain})")
    for signature in dkim:
        if signature.result == "pass" and aligned(signature.domain, author, adkim):
            return DmarcResult("pass", author, applies, reason=f"DKIM aligned ({signature.domain})")
    disposition = applies
    pct = max(0, min(100, policy.pct))
    if disposition != "none" and sample() * 100 >= pct:
        disposition = "quarantine" if disposition == "reject" else "none"
    temporary = ""
    if spf is not None and spf.result == "temperror" and aligned(spf.domain, author, aspf):
        temporary = "spf"
    elif any(s.result == "temperror" and aligned(s.domain, author, adkim) for s in dkim):
        temporary = "dkim"
    if temporary:
        reason = f"aligned {temporary.upper()} could not be checked (temporary DNS failure)"
        return DmarcResult("temperror", author, applies, disposition, reason, temporary)
    return DmarcResult("fail", author, applies, disposition, "no aligned SPF or DKIM pass")


async def check_dmarc(
    resolver: Resolver,
    header: HeaderBlock,
    spf: SpfResult | None,
    dkim: Sequence[DkimOutcome],
    *,
    sample: Callable[[], float] = random.random,
) -> DmarcResult:
    """DMARC for the message whose header section is `header`: for several author
    domains, the first that fails with the strongest disposition, else the first."""
    authors = author_domains(header)
    if not authors.domains:
        result = "permerror" if authors.problem.startswith("more than") else "none"
        return DmarcResult(result, "", reason=authors.problem)
    results: list[DmarcResult] = []
    for author in authors.domains:
        if not is_domain_name(author):
            results.append(DmarcResult("permerror", author, reason="From: names no domain"))
            continue
        try:
            record = await find_record(resolver, author)
        except DnsTemporaryError as error:
            results.append(DmarcResult("temperror", author, reason=f"DNS {error}"))
            continue
        if record is None:
            results.append(DmarcResult("none", author, reason=f"{author} publishes no DMARC"))
            continue
        results.append(evaluate(author, record, spf, dkim, sample=sample))
    return max(results, key=_severity)


def is_domain_name(text: str) -> bool:
    """Whether `text` can be looked up: dotted labels of letters, digits and hyphens (or
    non-ASCII, for internationalised names), 1..63 octets each, 253 in all; not an
    address literal or a dotted number."""
    if not text or len(text) > 253 or "." not in text or text.rpartition(".")[2].isdigit():
        return False
    return all(
        0 < len(label) < 64 and all(c.isalnum() or c in "-_" for c in label)
        for label in text.split(".")
    )


def _severity(result: DmarcResult) -> tuple[int, int]:
    order = {"pass": 0, "none": 1, "permerror": 2, "temperror": 3, "fail": 4}
    return (POLICIES.index(result.disposition), order.get(result.result, 0))
