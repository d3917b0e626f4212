"""SPF (RFC 7208) against records published by a real DNS server on 127.0.0.1, asked
through the host's resolver: every result, both identities, and the §4.6.4 limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.dns import Resolver
from mailroom.mailauth.spf import (
    SpfLimits,
    check_helo,
    check_mail_from,
    checkable_domain,
)
from tests.support.dns_server import DnsServer, start_dns_server

CLIENT = "192.0.2.10"

RECORDS: dict[str, dict[str, list[str]]] = {
    "pass.test": {"TXT": ['"v=spf1 ip4:192.0.2.0/24 -all"']},
    "fail.test": {"TXT": ['"v=spf1 ip4:198.51.100.1 -all"']},
    "softfail.test": {"TXT": ['"v=spf1 ip4:198.51.100.1 ~all"']},
    "neutral.test": {"TXT": ['"v=spf1 ?all"']},
    "none.test": {"TXT": ['"google-site-verification=abc"']},
    "permerror.test": {"TXT": ['"v=spf1 ip4:192.0.2.10 frobnicate:x -all"']},
    "two.test": {"TXT": ['"v=spf1 -all"', '"v=spf1 +all"']},
    "split.test": {"TXT": ['"v=spf1 ip4:192.0.2.10" " -all"']},
    "mx.test": {"TXT": ['"v=spf1 mx -all"'], "MX": ["10 mail.mx.test."]},
    "mail.mx.test": {"A": ["192.0.2.10"]},
    "helo.test": {"TXT": ['"v=spf1 a -all"'], "A": ["192.0.2.10"]},
    "include.test": {"TXT": ['"v=spf1 include:pass.test -all"']},
    "broken-include.test": {"TXT": ['"v=spf1 include:broken.test -all"']},
    "void.test": {"TXT": ['"v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ?all"']},
    "two-void.test": {"TXT": ['"v=spf1 a:v1.void.test a:v2.void.test ?all"']},
    "slow.test": {"TXT": ['"v=spf1 a:hang.slow.test -all"']},
    # eleven include levels: one lookup past RFC 7208's limit of ten
    **{f"chain{i}.test": {"TXT": [f'"v=spf1 include:chain{i + 1}.test -all"']} for i in range(11)},
    "chain11.test": {"TXT": ['"v=spf1 ip4:192.0.2.10 -all"']},
}


@pytest.fixture
async def dns() -> AsyncIterator[tuple[DnsServer, Resolver]]:
    server = await start_dns_server(RECORDS, servfail={"broken.test"})
    server.silent.add("hang.slow.test")
    try:
        yield server, Resolver(["127.0.0.1"], server.port, timeout=5)
    finally:
        assert server.transport is not None
        server.transport.close()


async def mail_from(resolver: Resolver, sender: str, **limits: float) -> str:
    spf = await check_mail_from(
        resolver,
        client_ip=CLIENT,
        sender=sender,
        helo="client.example",
        receiver="mx.mailroom.test",
        limits=SpfLimits(**limits),  # type: ignore[arg-type]
    )
    return spf.result


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("pass.test", "pass"),
        ("fail.test", "fail"),
        ("softfail.test", "softfail"),
        ("neutral.test", "neutral"),
        ("none.test", "none"),
        ("nxdomain.test", "none"),
        ("broken.test", "temperror"),
        ("permerror.test", "permerror"),
        ("two.test", "permerror"),
        ("split.test", "pass"),
        ("mx.test", "pass"),
        ("include.test", "pass"),
        ("broken-include.test", "temperror"),
    ],
)
async def test_mail_from_results(
    dns: tuple[DnsServer, Resolver], domain: str, expected: str
) -> None:
    _, resolver = dns
    assert await mail_from(resolver, f"someone@{domain}") == expected


async def test_the_result_names_the_identity_domain_and_reason(
    dns: tuple[DnsServer, Resolver],
) -> None:
    _, resolver = dns
    spf = await check_mail_from(
        resolver, client_ip=CLIENT, sender="a@PASS.test", helo="x.example", receiver="mx"
    )
    assert (spf.identity, spf.domain, spf.sender) == ("mailfrom", "pass.test", "a@PASS.test")
    assert spf.reason == "pass.test designates 192.0.2.10 as permitted sender"


async def test_the_null_sender_is_checked_as_postmaster_at_the_helo_name(
    dns: tuple[DnsServer, Resolver],
) -> None:
    _, resolver = dns
    spf = await check_mail_from(
        resolver, client_ip=CLIENT, sender="", helo="helo.test", receiver="mx"
    )
    assert (spf.result, spf.sender, spf.domain) == ("pass", "postmaster@helo.test", "helo.test")


async def test_the_helo_identity_is_checked(dns: tuple[DnsServer, Resolver]) -> None:
    _, resolver = dns
    good = await check_helo(resolver, client_ip=CLIENT, helo="helo.test", receiver="mx")
    bad = await check_helo(resolver, client_ip="203.0.113.9", helo="helo.test", receiver="mx")
    assert (good.result, good.identity) == ("pass", "helo")
    assert bad.result == "fail"


async def test_an_address_literal_helo_has_no_record_to_check(
    dns: tuple[DnsServer, Resolver],
) -> None:
    server, resolver = dns
    spf = await check_helo(resolver, client_ip=CLIENT, helo="[192.0.2.10]", receiver="mx")
    assert spf.result == "none"
    assert server.queries == []


async def test_more_than_ten_dns_lookups_is_a_permerror(dns: tuple[DnsServer, Resolver]) -> None:
    _, resolver = dns
    assert await mail_from(resolver, "a@chain0.test") == "permerror"
    assert await mail_from(resolver, "a@chain1.test") == "pass"  # exactly ten


async def test_the_lookup_limit_is_configurable(dns: tuple[DnsServer, Resolver]) -> None:
    _, resolver = dns
    assert await mail_from(resolver, "a@chain9.test", max_dns_lookups=1) == "permerror"
    assert await mail_from(resolver, "a@chain9.test", max_dns_lookups=2) == "pass"


async def test_more_than_two_void_lookups_is_a_permerror(dns: tuple[DnsServer, Resolver]) -> None:
    _, resolver = dns
    assert await mail_from(resolver, "a@void.test") == "permerror"
    assert await mail_from(resolver, "a@two-void.test") == "neutral"


async def test_an_evaluation_past_its_time_limit_is_a_temperror(
    dns: tuple[DnsServer, Resolver],
) -> None:
    server, resolver = dns
    assert await mail_from(resolver, "a@slow.test", time_limit=0.5) == "temperror"
    assert ("hang.slow.test", "(silent)") in server.queries


async def test_answers_are_cached_by_the_hosts_resolver(dns: tuple[DnsServer, Resolver]) -> None:
    server, resolver = dns
    await mail_from(resolver, "a@include.test")
    asked = len(server.queries)
    assert await mail_from(resolver, "b@include.test") == "pass"
    assert len(server.queries) == asked


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_checkable_domain_takes_any_text(text: str) -> None:
    if checkable_domain(text):
        assert "." in text and text.isascii() and len(text) <= 253
        assert all(0 < len(label) < 64 for label in text.split("."))


SPF_TERMS = st.sampled_from(
    [
        "v=spf1",
        "ip4:192.0.2.0/24",
        "ip6:2001:db8::/32",
        "a",
        "mx",
        "ptr",
        "include:pass.test",
        "include:%{d}.x",
        "exists:%{ir}.%{l1r+-}._spf.%{d}",
        "redirect=fail.test",
        "exp=explain.%{d}",
        "-all",
        "~all",
        "?all",
        "+all",
        "a:/99",
        "ip4:999.1.1.1",
        "%{",
        "include:",
        "=",
        "\x00",
        "é",
    ]
)


@given(st.lists(SPF_TERMS | st.text(max_size=20), max_size=12), st.text(max_size=30))
@settings(max_examples=150, deadline=None)
def test_any_published_record_gives_an_rfc_7208_result(terms: list[str], local: str) -> None:
    record = " ".join(terms)
    escaped = record.replace("\\", "\\\\").replace('"', '\\"')

    async def evaluate() -> str:
        server = await start_dns_server({"fuzz.test": {"TXT": [f'"{escaped}"']}})
        try:
            resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
            spf = await check_mail_from(
                resolver,
                client_ip=CLIENT,
                sender=f"{local}@fuzz.test",
                helo="client.example",
                receiver="mx",
                limits=SpfLimits(time_limit=5),
            )
            return spf.result
        finally:
            assert server.transport is not None
            server.transport.close()

    result = asyncio.run(evaluate())
    assert result in ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
