"""FETCH ENVELOPE: compared with what Dovecot sends (its test-imap-envelope.c cases)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.envelope import envelope, envelope_bytes, serialize_structure
from mailroom.message import message_header, parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


DOVECOT_CASES = [
    (
        "Message-ID: <msg@id>\n"
        "In-Reply-To: <reply@to.id>\n"
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
        "Subject: subject header\n"
        "From: From Real <fromuser@fromdomain.org>\n"
        "To: To Real <touser@todomain.org>\n"
        "Cc: Cc Real <ccuser@ccdomain.org>\n"
        "Bcc: Bcc Real <bccuser@bccdomain.org>\n"
        "Sender: Sender Real <senderuser@senderdomain.org>\n"
        "Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n"
        "\n"
        "body\n",
        '("Thu, 15 Feb 2007 01:02:03 +0200" "subject header"'
        ' (("From Real" NIL "fromuser" "fromdomain.org"))'
        ' (("Sender Real" NIL "senderuser" "senderdomain.org"))'
        ' (("ReplyTo Real" NIL "replytouser" "replytodomain.org"))'
        ' (("To Real" NIL "touser" "todomain.org"))'
        ' (("Cc Real" NIL "ccuser" "ccdomain.org"))'
        ' (("Bcc Real" NIL "bccuser" "bccdomain.org"))'
        ' "<reply@to.id>" "<msg@id>")',
    ),
    (
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain\n\nbody\n",
        '("Thu, 15 Feb 2007 01:02:03 +0200" NIL'
        ' ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain"))'
        " NIL NIL NIL NIL NIL)",
    ),
    (
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
        "From: user@domain (Real Name)\n"
        "To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n"
        "Cc: group:;, group2: (foo) ;\n"
        "\n"
        "body\n",
        '("Thu, 15 Feb 2007 01:02:03 +0200" NIL'
        ' (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain"))'
        ' (("Real Name" NIL "user" "domain"))'
        ' ((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)'
        '(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL))'
        ' ((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL))'
        " NIL NIL NIL)",
    ),
    (
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
        "From: user@domain (Real Name)\n"
        "Sender: \n"
        "Reply-To: \n"
        "\n"
        "body\n",
        '("Thu, 15 Feb 2007 01:02:03 +0200" NIL'
        ' (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain"))'
        ' (("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL)',
    ),
    (
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n",
        '("Thu, 15 Feb 2007 01:02:03 +0200" NIL'
        ' ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain"))'
        ' ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL)',
    ),
]


@pytest.mark.parametrize(("message", "expected"), DOVECOT_CASES)
def test_envelope_matches_dovecot(message: str, expected: str) -> None:
    assert envelope_bytes(parse_message(crlf(message))).decode() == expected


def test_values_are_plain_python_values() -> None:
    value = envelope(parse_message(crlf("Subject: hi\nTo: a@b, c@d\n\n")))
    assert value == [
        None,
        "hi",
        None,
        None,
        None,
        [[None, None, "a", "b"], [None, None, "c", "d"]],
        None,
        None,
        None,
        None,
    ]


def test_strings_stay_raw_and_the_subject_is_tidied_for_humans() -> None:
    data = crlf("Subject: =?utf-8?q?caf=C3=A9?=\n\tfolded  twice \nMessage-ID:  <a@b>\n\n")
    value = envelope(parse_message(data))
    assert isinstance(value, list)
    assert value[1] == "=?utf-8?q?caf=C3=A9?= folded twice"
    assert value[9] == "<a@b>"


def test_the_last_of_repeated_fields_counts() -> None:
    value = envelope(parse_message(crlf("Subject: one\nSubject: two\nFrom: a@b\nFrom: c@d\n\n")))
    assert isinstance(value, list)
    assert value[1] == "two"
    assert value[2] == [[None, None, "c", "d"]]


def test_8bit_that_is_not_utf8_is_sent_as_octets() -> None:
    value = envelope(parse_message(b"Subject: caf\xe9\r\n\r\n"))
    assert isinstance(value, list)
    assert value[1] == b"caf\xe9"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1000))
def test_envelope_of_any_header_does_not_raise(raw: bytes) -> None:
    for name in (b"From", b"To", b"Subject", b"Date"):
        envelope_bytes(parse_message(name + b": " + raw + b"\r\n\r\n"))


_FIELDS = st.sampled_from(
    [b"From", b"To", b"Cc", b"Bcc", b"Sender", b"Reply-To", b"Subject", b"Date", b"Message-ID",
     b"In-Reply-To", b"from", b"SUBJECT", b"X-Other", b"Content-Type", b" From", b"Fr om"]
)  # fmt: skip
_VALUES = st.one_of(
    st.binary(max_size=80),
    st.sampled_from(
        [
            b"Real Name <user@example.org>",
            b'"quoted, name" <a@b>, c@d (comment)',
            b"undisclosed: a@b, c@d;",
            b"<@route,@other:user@host>",
            b"=?utf-8?q?caf=C3=A9?= <x@y>",
            b"caf\xe9 <\xff@b>",
            b"a@b\r\n\tfolded@c",
            b"",
            b"\x00 nul",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_FIELDS, _VALUES), max_size=12),
    st.binary(max_size=200),
    st.booleans(),
)
def test_the_envelope_written_directly_is_the_envelope_value_serialized(
    fields: list[tuple[bytes, bytes]], body: bytes, utf8: bool
) -> None:
    """FETCH ENVELOPE writes its bytes from the header alone (message_header) without
    the values in between: exactly what the values of the whole parse serialize to."""
    data = b"".join(name + b": " + value + b"\r\n" for name, value in fields) + b"\r\n" + body
    whole = parse_message(data)
    expected = serialize_structure(envelope(whole), utf8=utf8)
    assert envelope_bytes(whole, utf8=utf8) == expected
    assert envelope_bytes(message_header(data), utf8=utf8) == expected
