"""BODY[section]<partial> and BINARY[section]: which octets each section names."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.sections import (
    Partial,
    Section,
    SectionText,
    UnknownTransferEncoding,
    apply_partial,
    binary_data,
    find_part,
    section_data,
)
from mailroom.message import parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


# RFC 3501 §6.4.5's example layout, shortened: 1, 2, 3 (message/rfc822 with 3.1, 3.2),
# 4 (multipart with 4.1, 4.2).
MESSAGE = crlf(
    "From: a@example.org\n"
    "Subject: sections\n"
    "To: b@example.org\n"
    "Content-Type: multipart/mixed; boundary=x\n"
    "\n"
    "--x\n"
    "Content-Type: text/plain\n"
    "\n"
    "part one\n"
    "--x\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "aGVsbG8gd29ybGQ=\n"
    "--x\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=y\n"
    "\n"
    "--y\n"
    "\n"
    "inner plain\n"
    "--y\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<b>caf=C3=A9</b>\n"
    "--y--\n"
    "--x\n"
    "Content-Type: multipart/mixed; boundary=z\n"
    "\n"
    "--z\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644 a\n"
    "--z\n"
    "\n"
    "four two\n"
    "--z--\n"
    "--x--\n"
)
ROOT = parse_message(MESSAGE)


def fetch(part: tuple[int, ...] = (), text: SectionText = SectionText.ALL, *fields: str) -> bytes:
    return section_data(MESSAGE, ROOT, Section(part, text, fields))


def test_empty_section_is_the_whole_message() -> None:
    assert fetch() == MESSAGE


def test_header_and_text_of_the_message() -> None:
    assert fetch((), SectionText.HEADER).endswith(b"boundary=x\r\n\r\n")
    assert fetch((), SectionText.TEXT).startswith(b"--x\r\n")
    assert fetch((), SectionText.HEADER) + fetch((), SectionText.TEXT) == MESSAGE


def test_header_fields_match_case_insensitively_in_message_order() -> None:
    assert fetch((), SectionText.HEADER_FIELDS, "TO", "subject") == (
        b"Subject: sections\r\nTo: b@example.org\r\n\r\n"
    )
    assert fetch((), SectionText.HEADER_FIELDS, "X-Missing") == b"\r\n"


def test_header_fields_not() -> None:
    assert fetch((), SectionText.HEADER_FIELDS_NOT, "content-type", "TO", "from") == (
        b"Subject: sections\r\n\r\n"
    )


def test_numbered_parts_are_bodies_without_their_mime_header() -> None:
    assert fetch((1,)) == b"part one"
    assert fetch((2,)) == b"aGVsbG8gd29ybGQ="
    assert fetch((4, 2)) == b"four two"


def test_mime_header_of_a_part() -> None:
    assert fetch((2,), SectionText.MIME) == (
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )


def test_message_rfc822_part_and_its_inside() -> None:
    assert fetch((3,)).startswith(b"Subject: inner\r\n")
    assert fetch((3,), SectionText.HEADER).endswith(b"boundary=y\r\n\r\n")
    assert fetch((3,), SectionText.HEADER_FIELDS, "Subject") == b"Subject: inner\r\n\r\n"
    assert fetch((3,), SectionText.TEXT).startswith(b"--y\r\n")
    assert fetch((3, 1)) == b"inner plain"
    assert fetch((3, 2), SectionText.MIME).startswith(b"Content-Type: text/html")


def test_missing_parts_are_empty() -> None:
    assert fetch((9,)) == b""
    assert fetch((1, 2)) == b""
    assert fetch((4, 3)) == b""
    assert fetch((0,)) == b""
    assert fetch((), SectionText.MIME) == b""
    assert fetch((1,), SectionText.HEADER) == b""  # not a message/rfc822 part


def test_a_single_part_message_has_a_part_1_that_is_its_body() -> None:
    data = crlf("Subject: x\n\nbody text\n")
    root = parse_message(data)
    assert section_data(data, root, Section((1,))) == b"body text\r\n"
    assert section_data(data, root, Section((1,), SectionText.MIME)) == b"Subject: x\r\n\r\n"
    assert section_data(data, root, Section((2,))) == b""


def test_a_message_rfc822_message_has_its_encapsulated_message_as_part_1() -> None:
    data = crlf("Content-Type: message/rfc822\n\nSubject: in\n\ninside\n")
    root = parse_message(data)
    assert section_data(data, root, Section((1,))) == b"Subject: in\r\n\r\ninside\r\n"
    assert section_data(data, root, Section((1, 1))) == b"inside\r\n"
    assert section_data(data, root, Section((1,), SectionText.HEADER)) == b"Subject: in\r\n\r\n"
    assert find_part(root, (1, 1)) is root.message


def test_partial() -> None:
    assert apply_partial(b"0123456789", Partial(2, 3)) == b"234"
    assert apply_partial(b"0123456789", Partial(8, 100)) == b"89"
    assert apply_partial(b"0123456789", Partial(10, 1)) == b""
    assert apply_partial(b"0123456789", None) == b"0123456789"


def test_binary_decodes_the_transfer_encoding() -> None:
    assert binary_data(MESSAGE, ROOT, Section((2,))) == b"hello world"
    assert binary_data(MESSAGE, ROOT, Section((3, 2))) == "<b>caf\u00e9</b>".encode()
    assert binary_data(MESSAGE, ROOT, Section((1,))) == b"part one"


def test_binary_of_a_message_decodes_every_part_inside_as_dovecot() -> None:
    inner = binary_data(MESSAGE, ROOT, Section((3,)))
    assert inner.startswith(b"Subject: inner\r\n")
    assert (
        b"Content-Type: text/html\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + "<b>caf\u00e9</b>\r\n--y--".encode()
    ) in inner
    # BINARY[] is the whole message so: part 4.1's encoding is unknown.
    with pytest.raises(UnknownTransferEncoding):
        binary_data(MESSAGE, ROOT, Section())


def test_binary_of_an_unknown_encoding_is_refused() -> None:
    with pytest.raises(UnknownTransferEncoding) as caught:
        binary_data(MESSAGE, ROOT, Section((4, 1)))
    assert caught.value.encoding == "x-uuencode"


SECTIONS = st.builds(
    Section,
    st.lists(st.integers(min_value=0, max_value=5), max_size=4).map(tuple),
    st.sampled_from(list(SectionText)),
    st.lists(st.sampled_from(["To", "subject", "X"]), max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(SECTIONS, st.binary(max_size=300))
def test_any_section_of_any_message_does_not_raise(section: Section, junk: bytes) -> None:
    for data in (MESSAGE, MESSAGE[: len(junk)] + junk):
        root = parse_message(data)
        result = section_data(data, root, section)
        if section.text not in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT):
            assert result in data
        with contextlib.suppress(UnknownTransferEncoding):
            binary_data(data, root, Section(section.part))
