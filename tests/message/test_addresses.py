"""Address lists as ENVELOPE needs them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.message import Address, addr_specs, addr_specs_written_apart, parse_addresses
from mailroom.message.addresses import first_mailbox


def test_name_addr_and_addr_spec() -> None:
    assert parse_addresses(b'"Joe Q. Public" <john.q.public@example.com>, jdoe@example.org') == [
        Address("Joe Q. Public", None, "john.q.public", "example.com"),
        Address(None, None, "jdoe", "example.org"),
    ]


def test_groups_are_flattened_with_markers() -> None:
    parsed = parse_addresses(b"A Group:Ed Jones <c@a.test>,joe@where.test;, Undisclosed:;")
    assert parsed == [
        Address(None, None, "A Group", None),
        Address("Ed Jones", None, "c", "a.test"),
        Address(None, None, "joe", "where.test"),
        Address(None, None, None, None),
        Address(None, None, "Undisclosed", None),
        Address(None, None, None, None),
    ]


def test_route_comment_name_and_missing_domain() -> None:
    assert parse_addresses(b"<@a.test,@b.test:joe@c.test> (Joe), noat") == [
        Address("Joe", "@a.test,@b.test", "joe", "c.test"),
        Address(None, None, "noat", "MISSING_DOMAIN"),
    ]


def test_quoted_specials_and_encoded_names_stay_raw() -> None:
    (address,) = parse_addresses(b'"Giant; \\"Big\\" Box" <x@y>')
    assert address.name == 'Giant; "Big" Box'
    (encoded,) = parse_addresses(b"=?utf-8?q?J=C3=B6rg?= <j@example.org>")
    assert encoded.name == "=?utf-8?q?J=C3=B6rg?="
    assert encoded.display_name == "J\u00f6rg"


def test_empty_and_junk_lists() -> None:
    assert parse_addresses(b"") == []
    assert parse_addresses(b" , ,") == []
    assert first_mailbox(b"group:;, b@c") == Address(None, None, "b", "c")
    assert parse_addresses(b"<<>>@@::;;") is not None


def test_addr_specs_drop_the_comments_inside_an_address() -> None:
    # RFC 5322 §3.2.2: CFWS between local part, "@" and domain is not part of the address.
    raw = b"<user-from (comment)@ (comment) domain.org>, A <a@b.example> (c), G:;, nohost"
    assert addr_specs(raw) == ["user-from@domain.org", "a@b.example"]


_ATOMS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True)
_CFWS = st.sampled_from(["", " ", "\t", " (note) ", "(a (nested) one)", "\r\n "])


@given(_ATOMS, _ATOMS, st.lists(_CFWS, min_size=4, max_size=4), st.booleans())
def test_cfws_between_the_tokens_of_an_addr_spec_is_ignored(
    local: str, domain: str, gaps: list[str], angle: bool
) -> None:
    a, b, c, d = gaps
    spec = f"{a}{local}{b}@{c}{domain}.example{d}"
    raw = (f"<{spec}>" if angle else spec).encode()
    assert addr_specs(raw) == [f"{local}@{domain}.example"]
    # The quick check parses whenever the header does not show the address as one run.
    apart = addr_specs_written_apart(raw)
    assert apart == [f"{local}@{domain}.example"] or f"{local}@{domain}.example".encode() in raw


def test_an_ordinary_header_is_not_parsed_again_for_its_addr_specs() -> None:
    assert addr_specs_written_apart(b"Alice Example <alice@example.test>, bob@b.test") == []
    assert addr_specs_written_apart(b"<a (c)@b.test>") == ["a@b.test"]
