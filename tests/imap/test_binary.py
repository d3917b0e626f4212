"""FETCH BINARY[…], BINARY.PEEK[…] and BINARY.SIZE[…] over the wire (RFC 3516).

BINARY gives a part with its Content-Transfer-Encoding undone; data holding NUL
octets is sent as a literal8 (`~{n}`), other data as a literal or string."""

from __future__ import annotations

import base64

import pytest

from tests.support.imap_talk import ImapTalk

PAYLOAD = bytes(range(8)) + b"\xff\xfe binary"
TEXT_IN_BASE64 = "Grüße aus Köln\r\n".encode()

# 1 quoted-printable text, 2 base64 octets with NULs, 3 base64 text, 4 an encoding
# nobody knows, 5 plain 7bit text.
ENCODED = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Encodings\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 cr=C3=A8me, a soft=\r\n"
    b" break\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + base64.b64encode(PAYLOAD) + b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: BASE64\r\n"
    b"\r\n" + base64.b64encode(TEXT_IN_BASE64) + b"\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: x-rot13\r\n"
    b"\r\n"
    b"uryyb\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"plain words\r\n"
    b"--b--\r\n"
)
QP_DECODED = "café crème, a soft break".encode()


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with ENCODED in INBOX, selected."""
    reply = await alice.append("INBOX", ENCODED)
    assert reply.ok, reply.tagged
    reply = await alice.command("SELECT INBOX")
    assert reply.ok, reply.tagged
    return alice


async def fetch(talk: ImapTalk, command: str) -> list[bytes]:
    reply = await talk.command(command)
    assert reply.tagged.endswith(b" OK Fetch completed."), reply.tagged
    return reply.untagged


async def test_binary_of_a_quoted_printable_part_is_decoded(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY.PEEK[1]") == [
        b"* 1 FETCH (BINARY[1] {%d}\r\n" % len(QP_DECODED) + QP_DECODED + b")"
    ]


async def test_binary_of_base64_octets_with_nuls_is_a_literal8(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY.PEEK[2]") == [
        b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(PAYLOAD) + PAYLOAD + b")"
    ]


async def test_binary_of_a_base64_text_part_is_its_text(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY.PEEK[3]") == [
        b"* 1 FETCH (BINARY[3] {%d}\r\n" % len(TEXT_IN_BASE64) + TEXT_IN_BASE64 + b")"
    ]


async def test_binary_of_a_7bit_part_is_the_part_as_it_is(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY.PEEK[5]") == [b'* 1 FETCH (BINARY[5] "plain words")']


async def test_binary_size_is_the_size_of_the_decoded_parts(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])") == [
        b"* 1 FETCH (BINARY.SIZE[1] %d BINARY.SIZE[2] %d BINARY.SIZE[3] %d)"
        % (len(QP_DECODED), len(PAYLOAD), len(TEXT_IN_BASE64))
    ]


async def test_binary_partial_counts_decoded_octets(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY.PEEK[1]<6.5>") == [
        b"* 1 FETCH (BINARY[1]<6> {5}\r\ncr\xc3\xa8m)"
    ]


async def test_binary_of_an_unknown_encoding_is_no_unknown_cte(alice: ImapTalk) -> None:
    reply = await alice.command("FETCH 1 BINARY.PEEK[4]")
    assert reply.untagged == []
    assert reply.status == "NO"
    assert b" NO [UNKNOWN-CTE] " in reply.tagged


async def test_binary_size_of_an_unknown_encoding_is_no_unknown_cte(alice: ImapTalk) -> None:
    reply = await alice.command("FETCH 1 BINARY.SIZE[4]")
    assert reply.untagged == []
    assert b" NO [UNKNOWN-CTE] " in reply.tagged


async def test_binary_sets_seen_and_reports_the_flags(alice: ImapTalk) -> None:
    assert await fetch(alice, "FETCH 1 BINARY[5]") == [
        rb'* 1 FETCH (BINARY[5] "plain words" FLAGS (\Seen \Recent))'
    ]


async def test_binary_peek_and_binary_size_leave_seen_unset(alice: ImapTalk) -> None:
    await fetch(alice, "FETCH 1 (BINARY.PEEK[5] BINARY.SIZE[5])")
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Recent))"]


# RFC 2045 §6.7 rule (3): trailing white space on an encoded line was added in
# transport and is deleted, and `=` followed by white space up to the line end is
# still a soft line break. `=20` is an encoded space and stays.
QP_WITH_TRAILING_SPACE = (
    b"From: Alice <alice@example.test>\r\n"
    b"Subject: Trailing white space\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Transport added spaces   \r\n"
    b"and a tab,\t \r\n"
    b"a soft =   \r\n"
    b"break=\t\r\n"
    b" and an encoded space=20 \r\n"
    b"stay =3D\r\n"
    b"--b--\r\n"
)
QP_WITHOUT_TRAILING_SPACE = (
    b"Transport added spaces\r\nand a tab,\r\na soft break and an encoded space \r\nstay ="
)


async def test_binary_of_quoted_printable_drops_trailing_white_space(alice: ImapTalk) -> None:
    reply = await alice.append("INBOX", QP_WITH_TRAILING_SPACE)
    assert reply.ok, reply.tagged
    assert await fetch(alice, "FETCH 2 (BINARY.SIZE[1] BINARY.PEEK[1])") == [
        b"* 2 FETCH (BINARY.SIZE[1] %d BINARY[1] {%d}\r\n"
        % (len(QP_WITHOUT_TRAILING_SPACE), len(QP_WITHOUT_TRAILING_SPACE))
        + QP_WITHOUT_TRAILING_SPACE
        + b")"
    ]
