"""DMARC (RFC 7489): policy discovery in a real DNS server on 127.0.0.1, alignment with
the public suffix list's organisational domain, p/sp/pct, and the author domain read
from hostile From: fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.dns import Resolver
from mailroom.mailauth.dmarc import (
    PolicyRecord,
    aligned,
    author_domains,
    check_dmarc,
    evaluate,
    organizational_domain,
)
from mailroom.mailauth.spf import SpfResult
from mailroom.message.headers import HeaderBlock, parse_header_block
from tests.support.dns_server import DnsServer, start_dns_server

RECORDS: dict[str, dict[str, list[str]]] = {
    "_dmarc.reject.test": {"TXT": ['"v=DMARC1; p=reject; rua=mailto:d@reject.test"']},
    "_dmarc.quarantine.test": {"TXT": ['"v=DMARC1; p=quarantine"']},
    "_dmarc.none.test": {"TXT": ['"v=DMARC1; p=none"']},
    "_dmarc.sub.test": {"TXT": ['"v=DMARC1; p=none; sp=reject"']},
    "_dmarc.strict.test": {"TXT": ['"v=DMARC1; p=reject; aspf=s; adkim=s"']},
    "_dmarc.bad.test": {"TXT": ['"v=DMARC1; p=sometimes"']},
    "_dmarc.two.test": {"TXT": ['"v=DMARC1; p=reject"', '"v=DMARC1; p=none"']},
    "_dmarc.other.test": {"TXT": ['"v=spf1 -all"', '"not dmarc"']},
    "_dmarc.half.test": {"TXT": ['"v=DMARC1; p=reject; pct=50"']},
    "_dmarc.example.co.uk": {"TXT": ['"v=DMARC1; p=reject"']},
}


@dataclass(frozen=True)
class Dkim:
    result: str
    domain: str


def header(text: str) -> HeaderBlock:
    data = text.encode() + b"\r\n\r\nbody\r\n"
    return parse_header_block(data, 0, len(data))


def spf(result: str, domain: str) -> SpfResult:
    return SpfResult(result, "mailfrom", f"bounce@{domain}", domain, "")


@pytest.fixture
async def resolver() -> AsyncIterator[Resolver]:
    server: DnsServer = await start_dns_server(RECORDS, servfail={"_dmarc.broken.test"})
    try:
        yield Resolver(["127.0.0.1"], server.port, timeout=5)
    finally:
        assert server.transport is not None
        server.transport.close()


async def dmarc_of(
    resolver: Resolver,
    author: str,
    spf_result: SpfResult | None = None,
    dkim: tuple[Dkim, ...] = (),
    sample: float = 0.0,
) -> tuple[str, str, str]:
    result = await check_dmarc(
        resolver, header(f"From: <a@{author}>"), spf_result, dkim, sample=lambda: sample
    )
    return result.result, result.policy, result.disposition


async def test_an_aligned_spf_pass_passes(resolver: Resolver) -> None:
    assert await dmarc_of(resolver, "reject.test", spf("pass", "reject.test")) == (
        "pass",
        "reject",
        "none",
    )


async def test_an_aligned_dkim_pass_passes(resolver: Resolver) -> None:
    dkim = (Dkim("fail", "reject.test"), Dkim("pass", "mail.reject.test"))
    assert (await dmarc_of(resolver, "reject.test", spf("fail", "x.test"), dkim))[0] == "pass"


async def test_unaligned_passes_fail_with_the_published_policy(resolver: Resolver) -> None:
    dkim = (Dkim("pass", "other.test"),)
    assert await dmarc_of(resolver, "reject.test", spf("pass", "other.test"), dkim) == (
        "fail",
        "reject",
        "reject",
    )
    assert await dmarc_of(resolver, "quarantine.test", spf("softfail", "x.test")) == (
        "fail",
        "quarantine",
        "quarantine",
    )
    assert await dmarc_of(resolver, "none.test") == ("fail", "none", "none")


async def test_relaxed_alignment_is_the_same_organisational_domain(resolver: Resolver) -> None:
    assert (await dmarc_of(resolver, "news.reject.test", spf("pass", "bounce.reject.test")))[
        0
    ] == "pass"


async def test_strict_alignment_needs_the_same_domain(resolver: Resolver) -> None:
    assert (await dmarc_of(resolver, "strict.test", spf("pass", "bounce.strict.test")))[0] == "fail"
    assert (await dmarc_of(resolver, "strict.test", None, (Dkim("pass", "strict.test"),)))[
        0
    ] == "pass"


async def test_a_subdomain_without_a_record_gets_the_organisational_sp(
    resolver: Resolver,
) -> None:
    assert await dmarc_of(resolver, "news.sub.test") == ("fail", "reject", "reject")
    assert await dmarc_of(resolver, "sub.test") == ("fail", "none", "none")


async def test_no_record_is_none(resolver: Resolver) -> None:
    assert (await dmarc_of(resolver, "nothing.test"))[0] == "none"
    assert (await dmarc_of(resolver, "other.test"))[0] == "none"  # no v=DMARC1 record
    assert (await dmarc_of(resolver, "two.test"))[0] == "none"  # RFC 7489 §6.6.3


async def test_a_record_that_does_not_parse_is_a_permerror(resolver: Resolver) -> None:
    assert (await dmarc_of(resolver, "bad.test"))[0] == "permerror"


async def test_a_failed_lookup_is_a_temperror(resolver: Resolver) -> None:
    assert (await dmarc_of(resolver, "broken.test"))[0] == "temperror"


async def test_an_aligned_spf_temperror_is_a_temperror_under_the_policy(
    resolver: Resolver,
) -> None:
    result = await check_dmarc(
        resolver, header("From: a@reject.test"), spf("temperror", "reject.test"), []
    )
    assert (result.result, result.disposition, result.temporary) == (
        "temperror",
        "reject",
        "spf",
    )
    result = await check_dmarc(
        resolver,
        header("From: a@reject.test"),
        spf("fail", "x.test"),
        [Dkim("temperror", "reject.test")],
    )
    assert (result.result, result.temporary) == ("temperror", "dkim")


async def test_pct_samples_failing_mail_into_the_milder_policy(resolver: Resolver) -> None:
    assert await dmarc_of(resolver, "half.test", sample=0.2) == ("fail", "reject", "reject")
    assert await dmarc_of(resolver, "half.test", sample=0.7) == ("fail", "reject", "quarantine")


async def test_the_public_suffix_list_finds_the_organisational_domain(
    resolver: Resolver,
) -> None:
    assert await dmarc_of(resolver, "shop.example.co.uk") == ("fail", "reject", "reject")
    assert organizational_domain("a.b.example.co.uk") == "example.co.uk"
    assert organizational_domain("co.uk") == "co.uk"


def test_a_public_suffix_never_aligns_with_a_domain_below_it() -> None:
    assert not aligned("example.co.uk", "co.uk", "r")
    assert not aligned("evil.github.io", "victim.github.io", "r")
    assert aligned("mail.example.org", "example.org", "r")
    assert not aligned("mail.example.org", "example.org", "s")


async def test_several_from_domains_are_each_checked_and_the_worst_kept(
    resolver: Resolver,
) -> None:
    result = await check_dmarc(
        resolver,
        header("From: a@none.test\r\nFrom: b@reject.test"),
        spf("pass", "none.test"),
        [],
    )
    assert (result.result, result.from_domain, result.disposition) == (
        "fail",
        "reject.test",
        "reject",
    )


def test_the_author_domain_is_read_from_the_from_field() -> None:
    assert author_domains(header('From: "Alice" <alice@Example.ORG.>')).domains == ("example.org",)
    assert author_domains(header("Subject: x")).problem == "no From: field"
    assert author_domains(header("From: undisclosed")).domains == ()


async def test_a_from_domain_that_is_no_domain_name_is_a_permerror(resolver: Resolver) -> None:
    result = await check_dmarc(resolver, header("From: <a@[192.0.2.1]>"), None, [])
    assert result.result == "permerror"
    result = await check_dmarc(resolver, header('From: "x"@"a b".test'), None, [])
    assert result.result in ("permerror", "none")


def test_evaluate_needs_a_p_tag() -> None:
    result = evaluate("x.test", PolicyRecord("v=DMARC1; sp=reject", "x.test"), None, [])
    assert result.result == "permerror"


@given(st.binary(max_size=500))
@settings(max_examples=300)
def test_author_domains_survive_any_from_field(value: bytes) -> None:
    data = b"From: " + value.replace(b"\r", b"").replace(b"\n", b" ") + b"\r\n\r\n"
    found = author_domains(parse_header_block(data, 0, len(data)))
    assert len(found.domains) <= 5
    assert all(d == d.lower() and d for d in found.domains)


@given(st.text(max_size=100), st.text(max_size=100), st.sampled_from(["r", "s"]))
@settings(max_examples=300, deadline=None)  # the first example may read the list (~0.2 s)
def test_alignment_takes_any_names(a: str, b: str, mode: str) -> None:
    assert aligned(a, b, mode) == aligned(b, a, mode)


@given(st.text(alphabet=st.characters(codec="ascii", exclude_characters="\x00"), max_size=200))
@settings(max_examples=300)
def test_any_record_text_evaluates_to_a_dmarc_result(text: str) -> None:
    result = evaluate("x.test", PolicyRecord(text, "x.test"), None, [], sample=lambda: 0.5)
    assert result.result in ("fail", "permerror")
    assert result.disposition in ("none", "quarantine", "reject")
