"""Header blocks and RFC 2047 encoded words."""

from __future__ import annotations

from mailroom.message import decode_header
from mailroom.message.headers import parse_header_block


def test_encoded_words_are_decoded_and_blanks_between_them_dropped() -> None:
    raw = b"=?utf-8?q?caf=C3=A9?= =?UTF-8?B?IOKCrA==?= and =?iso-8859-1?q?na=EFve?="
    assert decode_header(raw) == "caf\u00e9 \u20ac and na\u00efve"


def test_a_character_split_over_two_words_survives() -> None:
    assert decode_header(b"=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=") == "\u20ac"


def test_unknown_charset_and_bad_base64_do_not_raise() -> None:
    assert decode_header(b"=?x-unknown?q?abc?=") == "abc"
    assert decode_header(b"=?utf-8?b?####?=") == "=?utf-8?b?####?="


def test_language_suffix_of_rfc2231_is_ignored() -> None:
    assert decode_header(b"=?us-ascii*en?q?hello?=") == "hello"


def test_folding_is_removed_and_8bit_kept() -> None:
    assert decode_header("a\r\n b \u00e9".encode()) == "a b \u00e9"
    assert decode_header(b"bad \xff octet") == "bad \ufffd octet"


def test_header_block_fields_and_offsets() -> None:
    data = b"From: a\r\nSubject: x\r\n y\r\nno colon here\r\nTo:b\r\n\r\nbody"
    block = parse_header_block(data, 0, len(data))
    assert [(f.name, f.value) for f in block.fields] == [
        ("From", b"a"),
        ("Subject", b"x\r\n y"),
        ("To", b"b"),
    ]
    subject = block.fields[1]
    assert data[subject.start : subject.end] == b"Subject: x\r\n y\r\n"
    assert data[block.body_start :] == b"body"
    assert data[block.header_end : block.body_start] == b"\r\n"
