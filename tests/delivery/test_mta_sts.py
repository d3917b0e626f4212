"""MTA-STS grammar (RFC 8461 §3.1, §3.2, §4.1): the TXT record, the policy file, and
which MX hosts a policy allows; examples, then properties for any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.delivery.https_get import FetchError, parse_http_response
from mailroom.delivery.mta_sts import (
    MAX_AGE_LIMIT,
    Mode,
    MtaStsError,
    Policy,
    parse_policy,
    parse_sts_record,
)

POLICY = (
    b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    b"max_age: 604800\r\n"
)


def test_the_rfcs_example_policy_parses() -> None:
    assert parse_policy(POLICY) == Policy(
        Mode.ENFORCE, 604800, ("mail.example.com", "*.example.net")
    )


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("mail.example.com", True),
        ("MAIL.Example.COM.", True),
        ("mx1.example.net", True),
        ("example.net", False),  # the wildcard stands for exactly one label
        ("a.b.example.net", False),
        ("mail.example.com.evil.test", False),
        ("xmail.example.com", False),
    ],
)
def test_mx_patterns_match_as_section_4_1_says(host: str, allowed: bool) -> None:
    assert parse_policy(POLICY).allows(host) is allowed


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", "version"),
        (b"version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n", "mode"),
        (b"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", "max_age"),
        (b"version: STSv1\nmode: enforce\nmax_age: 1\n", "at least one mx"),
        (b"version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n", "mx"),
        (b"version: STSv1\nnonsense\n", "line without"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_bad_policy_is_refused(body: bytes, error: str) -> None:
    with pytest.raises(MtaStsError, match=error):
        parse_policy(body)


def test_max_age_is_capped_at_a_year_and_unknown_keys_ignored() -> None:
    body = b"version: STSv1\nmode: testing\nmx: a.example\nmax_age: 9999999999\nfuture: yes\n"
    assert parse_policy(body) == Policy(Mode.TESTING, MAX_AGE_LIMIT, ("a.example",))


def test_mode_none_needs_no_mx() -> None:
    assert parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").mode is Mode.NONE


@pytest.mark.parametrize(
    ("texts", "policy_id"),
    [
        (["v=STSv1; id=20160831085700Z;"], "20160831085700Z"),
        (["v=STSv1;id=abc"], "abc"),
        (["v=spf1 -all", "v=STSv1; id=x1"], "x1"),  # other records are ignored
        (["v=STSv1; id=a", "v=STSv1; id=b"], None),  # two policies: none
        ([], None),
        (["v=STSv1"], None),
        (["id=abc; v=STSv1"], None),
        (["v=STSv1; id=" + "a" * 33], None),
        (["v=STSv1; id=a b"], None),
    ],
)
def test_the_txt_record_gives_the_policy_id(texts: list[str], policy_id: str | None) -> None:
    assert parse_sts_record(texts) == policy_id


@given(st.lists(st.text(max_size=80), max_size=3))
def test_any_txt_records_give_an_id_or_none(texts: list[str]) -> None:
    policy_id = parse_sts_record(texts)
    assert policy_id is None or (policy_id.isalnum() and len(policy_id) <= 32)


@given(st.binary(max_size=400))
def test_any_bytes_give_a_policy_or_mta_sts_error(body: bytes) -> None:
    try:
        policy = parse_policy(body)
    except MtaStsError:
        return
    assert 0 <= policy.max_age <= MAX_AGE_LIMIT


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)


@given(
    st.sampled_from(list(Mode)),
    st.lists(hosts, min_size=1, max_size=4),
    st.integers(0, MAX_AGE_LIMIT),
    st.sampled_from(["\r\n", "\n"]),
)
def test_a_written_policy_reads_back(mode: Mode, mx: list[str], age: int, newline: str) -> None:
    lines = ["version: STSv1", f"mode: {mode.value}", *(f"mx: {h}" for h in mx), f"max_age: {age}"]
    policy = parse_policy(newline.join(lines).encode())
    assert policy == Policy(mode, age, tuple(dict.fromkeys(mx)))
    assert all(policy.allows(host.upper()) for host in mx)


@given(st.binary(max_size=400))
def test_any_bytes_give_a_response_or_fetch_error(data: bytes) -> None:
    try:
        response = parse_http_response(data, max_body=100)
    except FetchError:
        return
    assert len(response.body) <= 100


@given(st.integers(100, 599), st.binary(max_size=200))
def test_a_response_reads_back(status: int, body: bytes) -> None:
    data = (
        f"HTTP/1.0 {status} Whatever\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    response = parse_http_response(data, max_body=200)
    assert (response.status, response.media_type, response.body) == (status, "text/plain", body)


def test_a_body_longer_than_allowed_is_refused() -> None:
    with pytest.raises(FetchError, match="larger than"):
        parse_http_response(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 101, max_body=100)


def test_a_chunked_answer_is_refused() -> None:
    with pytest.raises(FetchError, match="transfer codings"):
        parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 100)
