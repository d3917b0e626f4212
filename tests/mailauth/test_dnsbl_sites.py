"""The DNSBL site notation of `[dnsbl] sites` (Postfix's postscreen_dnsbl_sites):
examples from Postfix's documentation, and hostile text read by property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.config import Config
from mailroom.config.dnsbl import (
    MAX_SITES,
    AnswerFilter,
    DnsblConfig,
    DnsblSite,
    DnsblSiteError,
    parse_filter,
    parse_site,
)


def test_a_bare_zone_counts_every_answer_with_weight_one() -> None:
    assert parse_site("zen.spamhaus.org") == DnsblSite("zen.spamhaus.org", None, 1)


def test_postfix_documentation_examples_read() -> None:
    zen = parse_site("zen.spamhaus.org=127.0.0.[2..11]*3")
    assert (zen.zone, zen.weight) == ("zen.spamhaus.org", 3)
    assert zen.answers == AnswerFilter((((127, 127),), ((0, 0),), ((0, 0),), ((2, 11),)))
    dnswl = parse_site("list.dnswl.org=127.0.[0..255].[1;2;3]*-2")
    assert dnswl.weight == -2
    assert dnswl.answers is not None
    assert dnswl.answers.matches("127.0.15.3")
    assert not dnswl.answers.matches("127.0.15.0")


def test_the_zone_is_lower_case_without_the_final_dot() -> None:
    assert parse_site(" BL.Example.ORG. ").zone == "bl.example.org"


@pytest.mark.parametrize(
    ("answer", "counts"),
    [
        ("127.0.0.2", True),
        ("127.0.0.11", True),
        ("127.0.0.1", False),
        ("127.0.0.12", False),
        ("127.255.255.254", False),  # a list's own error answer
        ("127.0.0", False),
        ("127.0.0.2.1", False),
        ("2001:db8::1", False),
        ("127.0.0.x", False),
    ],
)
def test_a_filter_counts_only_the_answers_it_names(answer: str, counts: bool) -> None:
    assert parse_filter("127.0.0.[2..11]").matches(answer) is counts


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no domain"),
        ("=127.0.0.2", "no domain"),
        ("localhost", "not a domain name"),
        ("bl..example", "not a domain name"),
        ("bl.example=127.0.0", "four octets"),
        ("bl.example=127.0.0.[2..11", "unbalanced"),
        ("bl.example=127.0.0.]2[", "unbalanced"),
        ("bl.example=127.0.0.[11..2]", "backwards"),
        ("bl.example=127.0.0.256", "0 to 255"),
        ("bl.example=127.0.0.[]", "not an octet"),
        ("bl.example*", "not a weight"),
        ("bl.example*1.5", "not a weight"),
        ("bl.example*5000", "not a weight"),
        ("bl.example=127.0.0.2*1*2", "not a weight"),
        ("x" * 600 + ".example", "at most"),
    ],
)
def test_bad_sites_are_refused_saying_why(text: str, problem: str) -> None:
    with pytest.raises(DnsblSiteError, match=problem):
        parse_site(text)


def test_the_config_refuses_a_bad_site_and_too_many_sites() -> None:
    with pytest.raises(ValueError, match="not a domain name"):
        Config.model_validate({"dnsbl": {"sites": ["nodots"]}})
    with pytest.raises(ValueError, match=f"at most {MAX_SITES}"):
        DnsblConfig(sites=[f"bl{n}.example" for n in range(MAX_SITES + 1)])
    config = Config.model_validate({"dnsbl": {"sites": ["bl.example=127.0.0.2*2"]}})
    assert config.dnsbl.parsed_sites == (DnsblSite("bl.example", parse_filter("127.0.0.2"), 2),)


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
zones = st.lists(labels, min_size=2, max_size=4).map(".".join)
octet_ranges = st.lists(
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda pair: tuple(sorted(pair))),
    min_size=1,
    max_size=4,
).map(tuple)
filters = st.tuples(octet_ranges, octet_ranges, octet_ranges, octet_ranges).map(AnswerFilter)
sites = st.builds(
    DnsblSite, zone=zones, answers=st.none() | filters, weight=st.integers(-1000, 1000)
)


@given(sites)
def test_a_site_written_out_reads_back_the_same(site: DnsblSite) -> None:
    assert parse_site(str(site)) == site


@given(filters, st.tuples(*[st.integers(0, 255)] * 4))
def test_a_filter_matches_exactly_the_addresses_in_its_ranges(
    answers: AnswerFilter, octets: tuple[int, int, int, int]
) -> None:
    expected = all(
        any(low <= value <= high for low, high in ranges)
        for value, ranges in zip(octets, answers.octets, strict=True)
    )
    assert answers.matches(".".join(map(str, octets))) is expected


postfixish = st.text(alphabet="[]0123456789.;=*-+abz. \t\x00é", max_size=80)


@given(st.one_of(st.text(max_size=200), postfixish, st.builds(str, sites).map(lambda s: s + "]")))
def test_hostile_text_is_read_or_refused_never_crashes(text: str) -> None:
    try:
        site = parse_site(text)
    except DnsblSiteError:
        return
    assert parse_site(str(site)) == site
    assert 0 < len(site.zone) <= 189
    assert -1000 <= site.weight <= 1000
