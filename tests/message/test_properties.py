"""Hostile input: parse_message and friends never raise, stay in bounds, finish."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message import decode_header, parse_addresses, parse_message, search_text
from mailroom.message.headers import crlf_body_start, parse_header_block
from mailroom.message.parameters import parse_header_parameters

LINES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b",
        b'Content-Type: multipart/digest; boundary="b"',
        b"Content-Type: message/rfc822",
        b"Content-Type: text/plain; charset*0*=utf-8''%E2; charset*1=x",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"MIME-Version: 1.0",
        b"--b",
        b"--b--",
        b"--b  ",
        b"",
        b" folded",
        b"Subject: =?utf-8?b?w6k=?= =?bogus?q?x?=",
        b'To: a:b@c;, <@x:y@z>, "q\\"" <>',
        b"no colon",
        b"\x00\xff\x80",
        b"=E9=\r",
        b"aGVsbG8=",
    ]
)
ENDINGS = st.sampled_from([b"\r\n", b"\n", b"\r", b""])


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(LINES, ENDINGS), max_size=60))
    return b"".join(line + end for line, end in lines)


def check_bounds(data: bytes) -> None:
    root = parse_message(data)
    assert root.start == 0 and root.end == len(data)
    for part in root.walk():
        assert 0 <= part.start <= part.header_end <= part.body_start <= part.end <= len(data)
        for field in part.fields:
            assert part.start <= field.start < field.end <= part.body_start
        for child in part.children:
            assert part.body_start <= child.start and child.end <= part.end
        if part.message is not None:
            assert part.message.start == part.body_start and part.message.end == part.end


@settings(max_examples=300, deadline=None)
@given(messages())
def test_structured_junk_never_raises_and_offsets_stay_in_bounds(data: bytes) -> None:
    check_bounds(data)
    search_text(data, limit=1000)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    check_bounds(data)
    decode_header(data)
    parse_addresses(data)
    parse_header_parameters(data)
    search_text(data, limit=100)


def test_deep_nesting_is_bounded() -> None:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(5000)
    )
    check_bounds(head + b"\r\nend\r\n")


def test_deep_message_rfc822_nesting_is_bounded() -> None:
    data = b"Content-Type: message/rfc822\r\n\r\n" * 5000 + b"Subject: x\r\n\r\nbody"
    check_bounds(data)


def test_many_parts_and_a_huge_header_line() -> None:
    many = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 20000
    check_bounds(many)
    huge = b"Subject: " + b"a" * 2_000_000 + b"\r\nTo: " + b"b@c, " * 50_000 + b"\r\n\r\n"
    check_bounds(huge)
    parse_addresses(parse_message(huge).header("To") or b"")


def test_pathological_inputs_are_parsed() -> None:
    # Sizes where quadratic work would hang (and pytest-timeout fail) the test; what they
    # cost is measured by bench/parser_costs.py, not asserted here.
    parse_addresses(b"<x>" + b":" * 200_000)
    parse_addresses(b"a <b@c>, " * 100_000)
    parse_header_parameters(b"x; " + b"a;" * 500_000 + b"b=c")
    html = b"Content-Type: text/html\r\n\r\n" + b"<script>" * 100_000 + b"<!--" * 100_000
    search_text(html, limit=1_000_000)
    decode_header(b"=?utf-8?q?a?= " * 100_000)


@given(st.lists(LINES, max_size=12))
@settings(max_examples=300)
def test_crlf_body_start_agrees_with_the_header_walk(lines: list[bytes]) -> None:
    data = b"\r\n".join(line.replace(b"\r", b"").replace(b"\n", b"") for line in lines)
    block = parse_header_block(data, 0, len(data))
    blank_line_found = block.header_end != block.body_start
    assert crlf_body_start(data) == (block.body_start if blank_line_found else None)
