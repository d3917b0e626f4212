"""Paths in MAIL FROM and RCPT TO (RFC 5321 §4.1.2): what is accepted, how it is
normalised, what is refused with which reply, and which routing tricks are flagged."""

from __future__ import annotations

import pytest

from mailroom.smtp.paths import (
    NULL_PATH,
    Path,
    parse_forward_path,
    parse_reverse_path,
    split_path,
)
from mailroom.smtp.replies import SmtpError


def sender(text: str, *, smtputf8: bool = False) -> Path:
    return parse_reverse_path(text, smtputf8=smtputf8)


def recipient(text: str, *, smtputf8: bool = False) -> Path:
    return parse_forward_path(text, smtputf8=smtputf8)


def refusal(text: str, *, reverse: bool = False, smtputf8: bool = False) -> str:
    """The reply code and enhanced code the path is refused with."""
    parse = parse_reverse_path if reverse else parse_forward_path
    with pytest.raises(SmtpError) as raised:
        parse(text, smtputf8=smtputf8)
    return f"{raised.value.reply.code} {raised.value.reply.enhanced}"


# --- Accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("<alice@example.org>", "alice@example.org"),
        ("<Alice@EXAMPLE.Org>", "Alice@example.org"),
        ("alice@example.org", "alice@example.org"),
        ("<first.last+tag@mail.example.org>", "first.last+tag@mail.example.org"),
        ("<o'brien@example.org>", "o'brien@example.org"),
        ("<x!#$&'*+-/=?^_`{|}~y@example.org>", "x!#$&'*+-/=?^_`{|}~y@example.org"),
        ('<"john doe"@example.org>', "john doe@example.org"),
        ('<"a\\"b\\\\c"@example.org>', 'a"b\\c@example.org'),
        ("<user@localhost>", "user@localhost"),
        ("<user@xn--bcher-kva.example>", "user@xn--bcher-kva.example"),
        ("<user@a-b.c-d.example>", "user@a-b.c-d.example"),
        ("<user@[192.0.2.1]>", "user@[192.0.2.1]"),
        ("<user@[192.000.002.001]>", "user@[192.0.2.1]"),
        ("<user@[IPv6:2001:DB8:0:0::1]>", "user@[IPv6:2001:db8::1]"),
        ("<user@[ipv6:::ffff:192.0.2.1]>", "user@[IPv6:::ffff:c000:201]"),
        ("<@relay.example:user@example.org>", "user@example.org"),
    ],
)
def test_accepted_recipient_paths_give_their_address(text: str, address: str) -> None:
    assert recipient(text).address == address


def test_the_null_reverse_path_is_accepted_for_mail_from() -> None:
    path = sender("<>")
    assert path == NULL_PATH
    assert path.is_null
    assert path.address == ""
    assert str(path) == "<>"


def test_postmaster_without_a_domain_is_a_recipient() -> None:
    # RFC 5321 §4.1.1.3: RCPT TO:<Postmaster> must be accepted.
    path = recipient("<PostMaster>")
    assert path.is_bare_postmaster
    assert path.domain == ""
    assert path.local_part == "PostMaster"


def test_the_local_part_keeps_its_case_and_the_domain_is_lower_cased() -> None:
    path = recipient("<John.Smith@Mail.Example.ORG>")
    assert (path.local_part, path.domain) == ("John.Smith", "mail.example.org")


def test_a_quoted_local_part_is_unquoted_and_marked_quoted() -> None:
    path = recipient('<"john doe"@example.org>')
    assert path.local_part == "john doe"
    assert path.quoted


def test_a_quoted_local_part_that_needs_no_quotes_still_says_it_was_quoted() -> None:
    path = recipient('<"john"@example.org>')
    assert path.local_part == "john"
    assert path.quoted
    assert path.mailbox == "john@example.org"


def test_the_mailbox_requotes_a_local_part_that_needs_it() -> None:
    assert str(recipient('<"a\\"b c"@example.org>')) == '<"a\\"b c"@example.org>'


def test_a_source_route_is_parsed_and_kept_apart() -> None:
    path = recipient("<@a.example,@B.example:user@c.example>")
    assert path.source_route == ("a.example", "b.example")
    assert path.address == "user@c.example"
    assert str(path) == "<user@c.example>"


def test_an_address_literal_is_marked() -> None:
    assert recipient("<user@[192.0.2.1]>").is_literal
    assert not recipient("<user@example.org>").is_literal


def test_a_general_address_literal_is_accepted_and_marked() -> None:
    path = recipient("<user@[x-tag:some-thing]>")
    assert path.is_literal
    assert path.domain == "[x-tag:some-thing]"


# --- Routing tricks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<@relay.example:user@example.org>",
        "<user%other.example@example.org>",
        "<other.example!user@example.org>",
        '<"user@other.example"@example.org>',
        '<"user%other.example"@example.org>',
        "<user@[192.0.2.1]>",
        "<user@[IPv6:2001:db8::1]>",
    ],
)
def test_routing_tricks_are_flagged(text: str) -> None:
    assert recipient(text).has_routing_trick


@pytest.mark.parametrize(
    "text", ["<user@example.org>", "<first.last+tag@example.org>", '<"john doe"@example.org>']
)
def test_plain_addresses_are_not_flagged(text: str) -> None:
    assert not recipient(text).has_routing_trick


# --- SMTPUTF8 ---------------------------------------------------------------------


def test_a_utf8_local_part_is_accepted_with_smtputf8() -> None:
    path = sender("<jöran@example.org>", smtputf8=True)
    assert path.local_part == "jöran"
    assert path.needs_smtputf8


def test_a_unicode_domain_becomes_a_labels_with_smtputf8() -> None:
    path = recipient("<info@Bücher.example>", smtputf8=True)
    assert path.domain == "xn--bcher-kva.example"
    assert not path.needs_smtputf8


def test_a_utf8_quoted_local_part_is_accepted_with_smtputf8() -> None:
    assert recipient('<"jöran svensson"@example.org>', smtputf8=True).local_part == "jöran svensson"


@pytest.mark.parametrize(
    "text", ["<jöran@example.org>", "<info@bücher.example>", '<"jöran"@example.org>']
)
def test_non_ascii_without_smtputf8_is_refused_with_553_5_6_7(text: str) -> None:
    assert refusal(text) == "553 5.6.7"
    assert refusal(text, reverse=True) == "553 5.6.7"


def test_control_and_separator_characters_are_refused_even_with_smtputf8() -> None:
    assert refusal("<a\u2028b@example.org>", smtputf8=True) == "501 5.1.3"
    assert refusal("<a\u0085b@example.org>", smtputf8=True) == "501 5.1.3"


# --- Refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<>",
        "<alice>",
        "<alice@>",
        "<@example.org>",
        "alice@example.org>",
        "<alice@example.org",
        "<alice@@example.org>",
        "<ali ce@example.org>",
        "<.alice@example.org>",
        "<alice.@example.org>",
        "<al..ice@example.org>",
        "<alice@example..org>",
        "<alice@example.org.>",
        "<alice@.example.org>",
        "<alice@-example.org>",
        "<alice@example-.org>",
        "<alice@exa_mple.org>",
        "<alice@192.0.2.1>",
        "<alice@[192.0.2.256]>",
        "<alice@[192.0.2]>",
        "<alice@[IPv6:2001:db8::g]>",
        "<alice@[IPv6:fe80::1%eth0]>",
        "<alice@[]>",
        "<alice@[example.org>",
        '<"alice@example.org>',
        '<""@example.org>',
        '<"a"b@example.org>',
        '<"a\\\x01"@example.org>',
        "<a(comment)@example.org>",
        "<@relay.example user@example.org>",
        "<@relay.example,relay2.example:user@example.org>",
        "<@[192.0.2.1]:user@example.org>",
        "<Postmaster@>",
    ],
)
def test_malformed_recipients_are_refused_with_501_5_1_3(text: str) -> None:
    assert refusal(text) == "501 5.1.3"


@pytest.mark.parametrize(
    "text", ["", "<alice>", "<alice@>", "<ali ce@example.org>", "<Postmaster>"]
)
def test_malformed_senders_are_refused_with_501_5_1_7(text: str) -> None:
    assert refusal(text, reverse=True) == "501 5.1.7"


def test_a_refusal_says_what_was_wrong() -> None:
    with pytest.raises(SmtpError) as raised:
        recipient("<alice@example..org>")
    assert raised.value.reply.text == (
        "Bad recipient address syntax: the domain has an empty label (two dots, or a dot at an end)"
    )


# --- RFC 5321 §4.5.3.1 limits -----------------------------------------------------


def test_a_long_srs_style_local_part_over_64_octets_is_accepted() -> None:
    local = "srs0=" + "a" * 120
    assert recipient(f"<{local}@example.org>").local_part == local


def test_a_path_with_a_long_local_part_over_256_octets_is_refused() -> None:
    assert refusal(f"<{'a' * 250}@example.org>") == "501 5.1.3"


def test_the_path_limit_counts_utf8_octets() -> None:
    assert refusal(f"<{'ö' * 124}@example.org>", smtputf8=True) == "501 5.1.3"


def test_a_path_of_256_octets_is_accepted() -> None:
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 51])
    text = f"<{'x' * 10}@{domain}>"
    assert len(text) == 256
    assert recipient(text).domain == domain


def test_a_path_over_256_octets_is_refused() -> None:
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 52])
    assert refusal(f"<{'x' * 10}@{domain}>") == "501 5.1.3"


def test_a_domain_label_over_63_octets_is_refused() -> None:
    assert refusal(f"<x@{'a' * 64}.example>") == "501 5.1.3"


# --- Splitting a path from its parameters ------------------------------------------


@pytest.mark.parametrize(
    ("argument", "path", "rest"),
    [
        ("<a@b.example> SIZE=10", "<a@b.example>", " SIZE=10"),
        ("<a@b.example>", "<a@b.example>", ""),
        ('<"x> y"@b.example> BODY=8BITMIME', '<"x> y"@b.example>', " BODY=8BITMIME"),
        ('<"x\\"> y"@b.example>', '<"x\\"> y"@b.example>', ""),
        ("a@b.example SIZE=10", "a@b.example", " SIZE=10"),
        ('"a b"@b.example SIZE=10', '"a b"@b.example', " SIZE=10"),
        ("<a@b.example", "<a@b.example", ""),
        ("<>", "<>", ""),
    ],
)
def test_a_path_is_split_from_the_parameters_after_it(argument: str, path: str, rest: str) -> None:
    assert split_path(argument) == (path, rest)
