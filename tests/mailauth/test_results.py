"""The Authentication-Results field (RFC 8601): built from the checks' results, read back
by `authres`, never broken by what a sender or a DNS record says; fields claiming our
authserv-id removed (§5) and others kept."""

from __future__ import annotations

from dataclasses import dataclass

import authres
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.mailauth.dmarc import DmarcResult
from mailroom.mailauth.results import (
    Checks,
    authentication_results,
    authserv_id,
    comment,
    rewrite_head,
)
from mailroom.mailauth.spf import SpfResult
from mailroom.message.headers import parse_header_block, unfold

OURS = "mx.mailroom.test"


@dataclass(frozen=True)
class Dkim:
    result: str
    domain: str
    selector: str
    signature_b: str
    reason: str


@dataclass(frozen=True)
class Arc:
    result: str
    instance: int
    reason: str


SPF = SpfResult("pass", "mailfrom", "bounce@example.org", "example.org", "example.org allows it")
HELO = SpfResult("none", "helo", "postmaster@client.example", "client.example", "no record")
DMARC = DmarcResult("pass", "example.org", "reject", "none", "SPF aligned (example.org)")


def parsed(field: bytes) -> authres.AuthenticationResultsHeader:
    text = unfold(field.rstrip(b"\r\n")).decode()
    return authres.FeatureContext(authres.dmarc, authres.arc).parse(text)


def test_one_field_carries_every_result_with_our_authserv_id() -> None:
    field = authentication_results(
        OURS,
        Checks(
            spf=SPF,
            helo=HELO,
            dkim=[Dkim("pass", "example.org", "mail", "AbCdEfGh12345", "ok")],
            arc=Arc("none", 0, ""),
            dmarc=DMARC,
        ),
    )
    assert field.startswith(b"Authentication-Results: mx.mailroom.test;\r\n\t")
    assert all(len(line) < 998 for line in field.split(b"\r\n"))
    header = parsed(field)
    assert header.authserv_id == OURS
    methods = [(r.method, r.result) for r in header.results]
    assert methods == [
        ("spf", "pass"),
        ("spf", "none"),
        ("dkim", "pass"),
        ("arc", "none"),
        ("dmarc", "pass"),
    ]
    spf, helo, dkim, _, dmarc = header.results
    assert spf.smtp_mailfrom == "bounce@example.org"
    assert helo.smtp_helo == "client.example"
    assert (dkim.header_d, dkim.header_s) == ("example.org", "mail")
    assert dkim._find_first_property("header", "b").value == "AbCdEfGh"
    assert dmarc.header_from == "example.org"


def test_no_signature_is_dkim_none_and_no_check_is_none() -> None:
    assert b"dkim=none" in authentication_results(OURS, Checks(dkim=[]))
    assert authentication_results(OURS, Checks()) == (
        b"Authentication-Results: mx.mailroom.test;\r\n\tnone\r\n"
    )


def test_an_odd_sender_is_written_as_its_domain() -> None:
    odd = SpfResult("fail", "mailfrom", '"a;b=c"@example.org', "example.org", "no")
    header = parsed(authentication_results(OURS, Checks(spf=odd)))
    assert header.results[0].smtp_mailfrom == "example.org"


def test_a_hostile_reason_cannot_add_a_clause() -> None:
    evil = SpfResult("pass", "mailfrom", "a@x.org", "x.org", "x) ; dkim=pass (\r\nX-Evil: 1")
    field = authentication_results(OURS, Checks(spf=evil))
    assert field.count(b"\r\n") == 2
    assert [r.method for r in parsed(field).results] == ["spf"]


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_any_reason_makes_a_field_authres_reads_back(reason: str) -> None:
    spf = SpfResult("neutral", "mailfrom", "a@b.example", "b.example", reason)
    dkim = Dkim("fail", "b.example", "s1", "xyzxyzxyz", reason)
    field = authentication_results(OURS, Checks(spf=spf, dkim=[dkim]))
    assert [r.method for r in parsed(field).results] == ["spf", "dkim"]
    cleaned = comment(reason)
    assert cleaned is None or ("(" not in cleaned and ")" not in cleaned)


def test_authserv_id_is_read_past_comments_and_quotes() -> None:
    assert authserv_id(b"MX.Mailroom.test; spf=pass") == OURS
    assert authserv_id(b" (comment (nested)) mx.mailroom.test 1; none") == OURS
    assert authserv_id(b'"mx.mailroom.test"; none') == OURS
    assert authserv_id(b"mx.mailroom.test\r\n\t; dkim=pass") == OURS
    assert authserv_id(b"(unclosed mx.mailroom.test") is None
    assert authserv_id(b"") is None


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_authserv_id_takes_any_value(value: bytes) -> None:
    found = authserv_id(value)
    assert found is None or (found == found.lower() and found.strip() == found and found)


MESSAGE = (
    b"Received: from client by mx.mailroom.test; today\r\n"
    b"Authentication-Results: MX.MAILROOM.TEST; dkim=pass header.d=bank.example\r\n"
    b"Authentication-Results: other.example; spf=pass\r\n"
    b"Authentication-Results: (sneaky) mx.mailroom.test;\r\n dmarc=pass\r\n"
    b"From: a@bank.example\r\n"
    b"\r\n"
    b"Authentication-Results: mx.mailroom.test; in the body, kept\r\n"
)


def test_fields_claiming_our_id_are_removed_and_ours_prepended() -> None:
    header = parse_header_block(MESSAGE, 0, len(MESSAGE))
    ours = b"Authentication-Results: mx.mailroom.test;\r\n\tnone\r\n"
    rewrite = rewrite_head(MESSAGE, header, OURS, ours)
    result = rewrite.head + MESSAGE[rewrite.replaced :]
    assert result == (
        ours + b"Received: from client by mx.mailroom.test; today\r\n"
        b"Authentication-Results: other.example; spf=pass\r\n"
        b"From: a@bank.example\r\n"
        b"\r\n"
        b"Authentication-Results: mx.mailroom.test; in the body, kept\r\n"
    )


def test_without_forged_fields_the_field_is_only_prepended() -> None:
    message = b"From: a@b.example\r\n\r\nbody\r\n"
    rewrite = rewrite_head(message, parse_header_block(message, 0, len(message)), OURS, b"AR\r\n")
    assert (rewrite.head, rewrite.replaced) == (b"AR\r\n", 0)


@given(
    st.lists(st.sampled_from([OURS, "other.example", "(x) " + OURS, '"' + OURS + '"']), max_size=6)
)
@settings(max_examples=200)
def test_no_field_with_our_id_survives(ids: list[str]) -> None:
    message = b"".join(f"Authentication-Results: {i}; none\r\n".encode() for i in ids)
    message += b"Subject: s\r\n\r\nbody\r\n"
    rewrite = rewrite_head(message, parse_header_block(message, 0, len(message)), OURS, b"")
    result = rewrite.head + message[rewrite.replaced :]
    header = parse_header_block(result, 0, len(result))
    left = [authserv_id(f.value) for f in header.fields if f.name == "Authentication-Results"]
    assert OURS not in left
    assert len(left) == sum(1 for i in ids if i == "other.example")
    assert result.endswith(b"Subject: s\r\n\r\nbody\r\n")
