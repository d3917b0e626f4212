"""Address lists as ENVELOPE needs them."""

from __future__ import annotations

from mailroom.message import Address, parse_addresses
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
