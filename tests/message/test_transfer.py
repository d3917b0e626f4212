"""The quoted-printable decoder (message/transfer.py) against RFC 2045 §6.7 and
Python's own codec, on random input."""

from __future__ import annotations

import binascii
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message.transfer import decode_quoted_printable

BLANKS = st.text(alphabet=" \t", max_size=4).map(str.encode)
LINE_ENDS = st.sampled_from([b"\r\n", b"\n"])
# Well-formed encoded text: literal octets other than `=` and line-end characters,
# `=XX` in either case, soft and hard line breaks; no white space before a line end.
TOKENS = st.one_of(
    st.binary(min_size=1, max_size=8).map(
        lambda octets: octets.replace(b"=", b"").replace(b"\r", b"").replace(b"\n", b"")
    ),
    st.integers(0, 255).map(lambda octet: b"=%02X" % octet),
    st.integers(0, 255).map(lambda octet: b"=%02x" % octet),
    LINE_ENDS.map(lambda end: b"=" + end),
    LINE_ENDS,
)

# Octets to encode: random, and long text lines with blanks and both line ends (Python's
# encoder then uses CRLF soft breaks).
DECODED = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from([b"x" * 40, b" ", b"\t", b"\r\n", b"\n", b"=", b"\x00\xff"]),
        max_size=30,
    ).map(b"".join),
)


def well_formed(tokens: list[bytes]) -> bytes:
    """The tokens joined, with the blanks before each line end (and the input's end)
    encoded as `=20`/`=09`, as an encoder must (RFC 2045 §6.7 rule 3)."""
    text = b"".join(tokens)
    lines = text.split(b"\n")
    for index, line in enumerate(lines):
        body = line.removesuffix(b"\r")
        kept = body.rstrip(b" \t")
        encoded = b"".join(b"=%02X" % octet for octet in body[len(kept) :])
        lines[index] = kept + encoded + line[len(body) :]
    return b"\n".join(lines)


@settings(max_examples=300)
@given(st.binary(max_size=500))
def test_random_octets_never_raise_and_never_grow(raw: bytes) -> None:
    assert len(decode_quoted_printable(raw)) <= len(raw)


@settings(max_examples=300)
@given(st.lists(TOKENS, max_size=40))
def test_well_formed_input_decodes_as_pythons_codec_does(tokens: list[bytes]) -> None:
    encoded = well_formed(tokens)
    assert decode_quoted_printable(encoded) == binascii.a2b_qp(encoded)


@settings(max_examples=300)
@given(DECODED, st.data())
def test_white_space_added_at_line_ends_in_transport_is_deleted(
    data: bytes, draw: st.DataObject
) -> None:
    # istext=False encodes every CR and LF of the data, so each line end is the encoder's.
    lines = binascii.b2a_qp(data, istext=False).splitlines(keepends=True) or [b""]
    transported = b""
    for line in lines:
        body = line.rstrip(b"\r\n")
        transported += body + draw.draw(BLANKS) + line[len(body) :]
    assert decode_quoted_printable(transported) == data


@settings(max_examples=300)
@given(DECODED, LINE_ENDS, st.data())
def test_a_soft_break_may_be_followed_by_blanks(
    data: bytes, end: bytes, draw: st.DataObject
) -> None:
    *pieces, last = re.split(rb"=\r?\n", binascii.b2a_qp(data, istext=False))
    transported = b"".join(piece + b"=" + draw.draw(BLANKS) + end for piece in pieces)
    assert decode_quoted_printable(transported + last) == data


def test_malformed_escapes_are_kept_as_they_are() -> None:
    assert decode_quoted_printable(b"a=4 \r\nb=zz=\r\nc= d=\rx") == b"a=4\r\nb=zzc= d=\rx"
