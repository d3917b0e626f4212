"""BODY and BODYSTRUCTURE: compared with Dovecot's own test (test-imap-bodystructure.c)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.bodystructure import body_structure, body_structure_bytes
from mailroom.imap.envelope import serialize_structure
from mailroom.message import parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


DOVECOT_MESSAGE = crlf(
    "From: user@domain.org\n"
    "Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
    "Mime-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="foo\n'
    ' bar"\n'
    "\n"
    "Root MIME prologue\n"
    "\n"
    "--foo bar\n"
    'Content-Type: text/x-myown; charset=us-ascii; foo="quoted\\"string"\n'
    "Content-ID: <foo@example.com>\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "Content-Disposition: inline; foo=bar\n"
    "Content-Description: hellodescription\n"
    "Content-Language: en, fi, se\n"
    "Content-Location: http://example.com/test.txt\n"
    "\n"
    "hello\n"
    "\n"
    "--foo bar\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: sub@domain.org\n"
    "To: sub-to1@domain.org, sub-to2@domain.org\n"
    "Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
    "Subject: submsg\n"
    'Content-Type: multipart/alternative; boundary="sub1"\n'
    "\n"
    "Sub MIME prologue\n"
    "--sub1\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "<p>Hello world</p>\n"
    "\n"
    "--sub1\n"
    "Content-Type: text/plain\n"
    "Content-Transfer-Encoding: ?invalid\n"
    "\n"
    "Hello another world\n"
    "\n"
    "--sub1--\n"
    "Sub MIME epilogue\n"
    "\n"
    "--foo bar--\n"
    "Root MIME epilogue\n"
)

SUBMESSAGE_ENVELOPE = (
    '("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org"))'
    ' ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org"))'
    ' ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL)'
)

DOVECOT_BODYSTRUCTURE = (
    '(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>"'
    ' "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar"))'
    ' ("en" "fi" "se") "http://example.com/test.txt")'
    '("message" "rfc822" NIL NIL NIL "7bit" 412 ' + SUBMESSAGE_ENVELOPE + " "
    '(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)'
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL)'
    ' "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL)'
    ' "mixed" ("boundary" "foo bar") NIL NIL NIL)'
)

DOVECOT_BODY = (
    '(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>"'
    ' "hellodescription" "7bit" 7 1)'
    '("message" "rfc822" NIL NIL NIL "7bit" 412 ' + SUBMESSAGE_ENVELOPE + " "
    '(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)'
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21) "mixed")'
)


def test_bodystructure_matches_dovecot() -> None:
    root = parse_message(DOVECOT_MESSAGE)
    assert body_structure_bytes(root, True).decode() == DOVECOT_BODYSTRUCTURE


def test_body_matches_dovecot() -> None:
    root = parse_message(DOVECOT_MESSAGE)
    assert body_structure_bytes(root, False).decode() == DOVECOT_BODY


def test_rfc3501_shape_of_a_plain_message() -> None:
    # RFC 3501 §7.4.2's example form: ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)
    data = crlf("Subject: x\n\n" + "line\n" * 92)
    assert body_structure(parse_message(data), False) == [
        "text",
        "plain",
        ["charset", "us-ascii"],
        None,
        None,
        "7bit",
        92 * 6,
        92,
    ]


def test_attachment_with_rfc2231_filename_keeps_the_encoding() -> None:
    data = crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=\" 100%.pdf\"\n"
        "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.pdf; size=4\n"
        "Content-Transfer-Encoding: BASE64\n\nJVBE\n--b--\n"
    )
    value = body_structure(parse_message(data), True)
    assert isinstance(value, list)
    attachment, subtype = value[0], value[1]
    assert subtype == "mixed"
    assert attachment == [
        "application",
        "pdf",
        ["name*", "utf-8''%E2%82%AC 100%25.pdf"],
        None,
        None,
        "BASE64",
        4,
        None,
        ["attachment", ["size", "4", "filename*", "utf-8''%E2%82%AC.pdf"]],
        None,
        None,
    ]


def test_multipart_without_parts_shows_one_empty_text_part() -> None:
    data = crlf("Content-Type: multipart/mixed; boundary=b\n\nnothing here\n")
    assert body_structure_bytes(parse_message(data), False) == (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")'
    )


def test_digest_children_are_messages_with_envelopes() -> None:
    data = crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nx\n--d--\n")
    value = body_structure(parse_message(data), False)
    assert isinstance(value, list)
    child, subtype = value
    assert subtype == "digest"
    assert isinstance(child, list)
    assert child[:7] == [
        "message",
        "rfc822",
        None,
        None,
        None,
        "7bit",
        len(b"Subject: one\r\n\r\nx"),
    ]
    assert child[7] == [None, "one", None, None, None, None, None, None, None, None]
    assert child[9] == 2


def test_wire_serialize_of_the_value_is_lenient_but_structured_is_exact() -> None:
    value = body_structure(parse_message(DOVECOT_MESSAGE), True)
    assert serialize_structure(value).decode() == DOVECOT_BODYSTRUCTURE


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/mixed; boundary=b",
                b"Content-Type: message/rfc822",
                b"Content-Type: multipart/digest; boundary=b",
                b"--b",
                b"--b--",
                b"",
                b"Content-Disposition: attachment; filename*1=x",
                b"Content-Language: ,,",
                b"\xff\x00",
            ]
        ),
        max_size=40,
    )
)
def test_any_structure_gives_a_bodystructure(lines: list[bytes]) -> None:
    root = parse_message(b"\r\n".join(lines))
    assert body_structure_bytes(root, True).startswith(b"(")
    assert body_structure_bytes(root, False).endswith(b")")
