"""The body test's strings (RFC 5173): :raw, :content with the RFC's own example, :text,
limits, and hostile MIME."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.sieve.body import (
    BodyTransform,
    body_strings,
    content_type_matches,
    is_valid_content_type,
)
from mailroom.sieve.context import MessageSource


def source(message: bytes) -> MessageSource:
    """A MessageSource as delivery builds one: the header up to the blank line, the
    body after it, read through a limit."""
    blank = message.find(b"\r\n\r\n")
    if blank < 0:
        return MessageSource(header=message, size=len(message), body=lambda limit: b"")
    header, body = message[: blank + 2], message[blank + 4 :]
    return MessageSource(header=header, size=len(message), body=lambda limit: body[:limit])


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


# RFC 5173 §5.2's example, the marker characters removed.
RFC_EXAMPLE = crlf(
    """From: Whomever
To: Someone
Date: Whenever
Subject: whatever
Content-Type: multipart/mixed; boundary=outer

This is a multi-part message in MIME format.

--outer
Content-Type: multipart/alternative; boundary=inner

This is a nested multi-part message in MIME format.

--inner
Content-Type: text/plain; charset="us-ascii"

Hello

--inner
Content-Type: text/html; charset="us-ascii"

<html><body>Hello</body></html>

--inner--

This is the end of the inner MIME multipart.

--outer
Content-Type: message/rfc822

From: Someone Else
Subject: hello request

Please say Hello

--outer--

This is the end of the outer MIME multipart.
"""
)


def content(*types: str) -> tuple[str, ...]:
    return body_strings(source(RFC_EXAMPLE), BodyTransform.CONTENT, types)


def test_content_multipart_sees_only_prologues_and_epilogues() -> None:
    strings = content("multipart")
    joined = "\n".join(strings)
    assert "This is a multi-part message in MIME format." in joined
    assert "This is a nested multi-part message in MIME format." in joined
    assert "This is the end of the inner MIME multipart." in joined
    assert "This is the end of the outer MIME multipart." in joined
    assert "Hello" not in joined.replace("hello request", "")
    assert not any("--inner" in s or "Content-Type" in s for s in strings)


def test_content_text_plain_sees_the_plain_part_and_the_enclosed_body() -> None:
    strings = content("text/plain")
    assert [s.strip() for s in strings] == ["Hello", "Please say Hello"]


def test_content_text_html_sees_only_the_html_part_with_its_markup() -> None:
    assert [s.strip() for s in content("text/html")] == ["<html><body>Hello</body></html>"]


def test_content_main_type_text_sees_plain_and_html() -> None:
    assert len(content("text")) == 3
    assert content("TEXT") == content("text")


def test_content_message_rfc822_sees_the_enclosed_header_only() -> None:
    strings = content("message/rfc822")
    assert strings == ("From: Someone Else\r\nSubject: hello request\r\n",)


def test_content_empty_type_matches_every_part() -> None:
    assert len(content("")) >= len(content("multipart")) + len(content("text")) + 1


def test_content_types_with_bad_slashes_match_nothing() -> None:
    for bad in ("/plain", "text/", "text/plain/x", "/"):
        assert not is_valid_content_type(bad)
        assert content(bad) == ()
    assert content_type_matches(["text/plain"], "text", "plain")
    assert not content_type_matches(["text/plain"], "text", "html")


def test_raw_is_the_undecoded_body_with_boundaries() -> None:
    (raw,) = body_strings(source(RFC_EXAMPLE), BodyTransform.RAW)
    assert raw.startswith("This is a multi-part message")
    assert "--inner\r\nContent-Type: text/html" in raw


def test_text_decodes_transfer_encoding_and_charset_and_strips_html() -> None:
    message = crlf(
        """Subject: x
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 au lait
--b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+TWlzc2lsZSA8Yj5jb29yZGluYXRlczwvYj48L3A+
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

c2VjcmV0IG1pc3NpbGU=
--b--
"""
    )
    strings = body_strings(source(message), BodyTransform.TEXT)
    assert strings[0].strip() == "Café au lait"
    assert "Missile coordinates" in strings[1] and "<b>" not in strings[1]
    assert len(strings) == 2  # the attachment is not text


def test_content_decodes_non_text_parts_transfer_encoding() -> None:
    message = crlf(
        """Content-Type: multipart/mixed; boundary=b

--b
Content-Type: audio/mp3
Content-Transfer-Encoding: base64

aGVsbG8=
--b--
"""
    )
    assert body_strings(source(message), BodyTransform.CONTENT, ["audio/mp3"]) == ("hello",)


def test_a_message_without_a_body_has_no_strings() -> None:
    header_only = b"Subject: no body\r\nFrom: a@b\r\n"
    for transform in BodyTransform:
        assert body_strings(source(header_only), transform, [""]) == ()


def test_an_empty_body_is_one_empty_string() -> None:
    empty = b"Subject: empty\r\n\r\n"
    assert body_strings(source(empty), BodyTransform.TEXT) == ("",)
    assert body_strings(source(empty), BodyTransform.RAW) == ("",)


def test_only_the_first_limit_octets_are_examined() -> None:
    message = b"Subject: big\r\n\r\n" + b"a" * 1000 + b"needle"
    (text,) = body_strings(source(message), BodyTransform.TEXT, limit=500)
    assert len(text) == 500 and "needle" not in text
    (raw,) = body_strings(source(message), BodyTransform.RAW, limit=2000)
    assert raw.endswith("needle")


def test_unknown_charset_and_bad_base64_do_not_raise() -> None:
    message = crlf(
        """Content-Type: text/plain; charset=x-no-such-charset
Content-Transfer-Encoding: base64

!!!!not base64 at all====
"""
    )
    (text,) = body_strings(source(message), BodyTransform.TEXT)
    assert isinstance(text, str)


PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/html; charset=bogus\r\n",
        b"Content-Type: text/plain; charset=utf-16\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Transfer-Encoding: x-uuencode\r\n",
        b"\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"<script>never closed\r\n",
        b"<!-- open comment\r\n",
        b"=E9=\r\n",
        b"////====\r\n",
        b"\xff\xfe\x00\x80\r\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(PIECES, max_size=80),
    st.sampled_from(list(BodyTransform)),
    st.lists(st.sampled_from(["", "text", "multipart", "message/rfc822", "x/"]), max_size=3),
)
def test_hostile_mime_gives_strings_never_an_exception(
    pieces: list[bytes], transform: BodyTransform, types: list[str]
) -> None:
    message = b"Subject: x\r\n" + b"".join(pieces)
    strings = body_strings(source(message), transform, types, limit=4096)
    assert all(isinstance(s, str) for s in strings)
    # Bounded: nothing longer than what was read could come out of it (decoding
    # shrinks base64 and quoted-printable; a header line per field at most).
    assert sum(len(s) for s in strings) <= 8 * len(message) + 64


def test_deep_nesting_is_bounded() -> None:
    depth = 500
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    message = b"Subject: deep\r\n" + head + b"\r\ninnermost\r\n"
    strings = body_strings(source(message), BodyTransform.CONTENT, [""])
    assert len(strings) < 3 * depth
    assert body_strings(source(message), BodyTransform.TEXT)
