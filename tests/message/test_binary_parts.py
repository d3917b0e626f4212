"""Storing a literal8 message (binary_parts.py): each `Content-Transfer-Encoding: binary`
leaf part becomes base64 that decodes to exactly its octets; anything else is untouched.
Examples, then any octets (hypothesis): the message is network input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message import decode_transfer, encode_binary_parts, parse_message

FAST = settings(max_examples=300, deadline=None)


def multipart(body: bytes, encoding: bytes = b"binary") -> bytes:
    return (
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="=b="\r\n'
        b"\r\n"
        b"--=b=\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"text\n"
        b"--=b=\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: " + encoding + b"\r\n"
        b"X-After: kept\r\n"
        b"\r\n" + body + b"\r\n"
        b"--=b=--\r\n"
    )


def test_a_binary_part_becomes_base64_lines_of_76() -> None:
    body = bytes(range(256)) * 2
    stored = encode_binary_parts(multipart(body))
    part = parse_message(stored).children[1]
    assert part.encoding == "base64"
    assert part.header("X-After") == b"kept"
    lines = stored[part.body_start : part.end].split(b"\r\n")
    assert [len(line) for line in lines] == [76] * 9  # 512 octets: 684 characters
    assert decode_transfer(stored[part.body_start : part.end], "base64") == body
    # The text part and the boundaries are as they were.
    assert stored.startswith(multipart(body).split(b"Content-Transfer-Encoding")[0])


def test_a_message_without_binary_parts_is_the_same_object() -> None:
    for data in (b"a\nb\x00c\nd", multipart(b"x\x00y", b"8bit"), b""):
        assert encode_binary_parts(data) is data


def test_binary_counts_only_where_mime_does() -> None:
    """Without MIME-Version or Content-Type the field is not MIME's (see mime.py)."""
    data = b"Content-Transfer-Encoding: binary\r\n\r\na\nb"
    assert encode_binary_parts(data) is data
    assert encode_binary_parts(b"MIME-Version: 1.0\r\n" + data) == (
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\nYQpi"
    )


def test_a_multipart_or_message_said_binary_is_left_alone() -> None:
    data = (
        b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\nA: b\r\n\r\nx\n"
    )
    assert encode_binary_parts(data) == data


@FAST
@given(st.binary(max_size=600))
def test_any_binary_body_comes_back_exactly(body: bytes) -> None:
    if b"--=b=" in body:
        return  # a boundary inside the body ends the part: not what is tested here
    stored = encode_binary_parts(multipart(body))
    part = parse_message(stored).children[1]
    assert part.encoding == "base64"
    assert decode_transfer(stored[part.body_start : part.end], "base64") == body
    assert b"\x00" not in stored and max(map(len, stored.split(b"\n"))) <= 78


PIECES = [
    b"Content-Transfer-Encoding: binary\r\n", b"content-transfer-encoding:binary\n",
    b"MIME-Version: 1.0\r\n", b'Content-Type: multipart/mixed; boundary="b"\r\n',
    b"Content-Type: message/rfc822\r\n", b"\r\n", b"\n", b"--b\r\n", b"--b--\r\n", b"\x00",
    b"x", b"\xff", b" ", b":", b"Content-Type: text/plain\r\n",
]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(PIECES) | st.binary(max_size=20), max_size=30))
def test_any_message_is_stored_without_an_error(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    stored = encode_binary_parts(data)
    again = parse_message(stored)
    assert (
        not any(
            part.encoding == "binary" and not part.is_multipart and part.message is None
            for part in again.walk()
        )
        or stored is data
    )
