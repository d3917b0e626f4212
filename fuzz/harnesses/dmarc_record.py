"""DMARC (`mailroom.mailauth.dmarc`): the policy record an author domain publishes
(RFC 7489 §6.3) and the From: fields a sender writes (§6.6.1).

The input is cut at the first LF: before it, the TXT record found at `_dmarc.<author>`;
after it, a message header section. Contract: `author_domains` gives at most
`MAX_AUTHOR_DOMAINS` distinct lower-case domains, or none and a problem; `evaluate` of
the record for each of them (and for a fixed domain, as published there and as the
organisational domain's record) gives a result DMARC knows, with a policy and a
disposition from `POLICIES` (what `check_dmarc` ranks results by) unless it is a
permerror; `is_domain_name`, `aligned` and `organizational_domain` answer for any text.
A crash: any other exception or broken invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.mailauth.dmarc import (
    MAX_AUTHOR_DOMAINS,
    POLICIES,
    DmarcResult,
    PolicyRecord,
    aligned,
    author_domains,
    evaluate,
    is_domain_name,
    organizational_domain,
)
from mailroom.mailauth.spf import SpfResult
from mailroom.message.headers import parse_header_block

RESULTS = ("pass", "fail", "temperror", "permerror")


@dataclass(frozen=True)
class Signature:
    result: str
    domain: str


def one_input(data: bytes) -> None:
    record_bytes, _, head = data.partition(b"\n")
    record = record_bytes.decode("ascii", "replace")
    authors = author_domains(parse_header_block(head, 0, len(head)))
    assert len(authors.domains) <= MAX_AUTHOR_DOMAINS, authors
    assert authors.domains or authors.problem, authors
    assert len(set(authors.domains)) == len(authors.domains), authors
    for author in (*authors.domains, "news.example.org"):
        assert author == author.lower(), author
        is_domain_name(author)
        organizational = organizational_domain(author)
        assert aligned(author, author, "s"), author
        assert aligned(organizational, author, "r") or not organizational.strip("."), author
        spf = SpfResult("temperror", "mailfrom", f"a@{author}", author, "")
        dkim = [Signature("fail", author), Signature("pass", "other.example.net")]
        for published_at in (author, organizational):
            for sample in (_sampled, _not_sampled):
                policy = PolicyRecord(record, published_at)
                _check(evaluate(author, policy, spf, dkim, sample=sample))


def _sampled() -> float:
    return 0.0


def _not_sampled() -> float:
    return 0.99


def _check(result: DmarcResult) -> None:
    assert result.result in RESULTS, result
    if result.result != "permerror":
        assert result.policy in POLICIES and result.disposition in POLICIES, result
