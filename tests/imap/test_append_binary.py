"""APPEND of binary data (RFC 3516 §4.4): a message sent as a literal8 `~{n}` whose parts
say `Content-Transfer-Encoding: binary` comes back from BINARY[…] byte for byte, bare
LF and NUL included. As Dovecot (measured against 2.3.19 on 127.0.0.1): such a part is
stored base64-encoded, so BODY[], RFC822.SIZE and BODYSTRUCTURE show it base64, and
BINARY[] gives the message back with `Content-Transfer-Encoding: binary`."""

from __future__ import annotations

import base64
import re

from tests.support.imap_talk import ImapReply, ImapTalk

PART = b"a\nb\x00c\nd"  # 7 octets: two bare LF and a NUL
SINGLE = (
    b"From: Alice <alice@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n" + PART
)
MULTIPART = (
    b"From: Alice <alice@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"hello\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n" + PART + b"\r\n"
    b"--b--\r\n"
)


async def append8(talk: ImapTalk, data: bytes, mailbox: str = "INBOX") -> ImapReply:
    """APPEND `data` as a non-synchronizing literal8 `~{n+}`."""
    tag = talk.next_tag()
    await talk.send(f"{tag} APPEND {mailbox} ~{{{len(data)}+}}\r\n".encode() + data + b"\r\n")
    return await talk.reply(tag)


async def fetch(talk: ImapTalk, items: str) -> bytes:
    assert (await talk.command("SELECT INBOX")).ok
    reply = await talk.command(f"FETCH 1 ({items})")
    assert reply.ok, reply.tagged
    (line,) = reply.untagged[-1:]
    return line


async def test_a_binary_part_comes_back_byte_for_byte(alice: ImapTalk) -> None:
    assert (await append8(alice, MULTIPART)).ok
    line = await fetch(alice, "BINARY.SIZE[2] BINARY.PEEK[2]")
    assert line == b"* 1 FETCH (BINARY.SIZE[2] 7 BINARY[2] ~{7}\r\n" + PART + b")"


async def test_the_stored_form_is_base64_as_dovecot_stores_it(alice: ImapTalk) -> None:
    assert (await append8(alice, MULTIPART)).ok
    stored = MULTIPART.replace(
        b"Transfer-Encoding: binary\r\n\r\n" + PART,
        b"Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PART),
    )
    line = await fetch(alice, "RFC822.SIZE BODY.PEEK[2] BODYSTRUCTURE")
    assert line.startswith(b"* 1 FETCH (RFC822.SIZE %d BODY[2] " % len(stored))
    assert b' BODY[2] "YQpiAGMKZA==" ' in line
    assert b'("application" "octet-stream" NIL NIL NIL "base64" 12 NIL NIL NIL NIL)' in line


async def test_binary_of_the_whole_message_is_what_was_appended(alice: ImapTalk) -> None:
    assert (await append8(alice, SINGLE)).ok
    line = await fetch(alice, "BINARY.SIZE[] BINARY.PEEK[]")
    assert line == b"* 1 FETCH (BINARY.SIZE[] %d BINARY[] ~{%d}\r\n%s)" % (
        len(SINGLE),
        len(SINGLE),
        SINGLE,
    )


async def test_binary_of_a_multipart_decodes_each_part(alice: ImapTalk) -> None:
    assert (await append8(alice, MULTIPART)).ok
    line = await fetch(alice, "BINARY.PEEK[]")
    assert line == b"* 1 FETCH (BINARY[] ~{%d}\r\n%s)" % (len(MULTIPART), MULTIPART)


async def test_a_big_binary_message_is_converted_too(alice: ImapTalk) -> None:
    """Over 1 MiB the literal is spooled to a file first; the result is the same."""
    payload = bytes(range(256)) * 8192 + b"\n\r\n\n"
    data = SINGLE.removesuffix(PART) + payload
    assert (await append8(alice, data)).ok
    line = await fetch(alice, "BINARY.SIZE[1] BINARY.PEEK[1]")
    assert line == b"* 1 FETCH (BINARY.SIZE[1] %d BINARY[1] ~{%d}\r\n%s)" % (
        len(payload),
        len(payload),
        payload,
    )


async def test_a_literal8_without_binary_parts_is_stored_as_text(alice: ImapTalk) -> None:
    """A bare LF outside a binary part is a line end (Dovecot: 9 octets for these 7)."""
    assert (await append8(alice, PART)).ok
    line = await fetch(alice, "RFC822.SIZE BINARY.SIZE[]")
    assert line == b"* 1 FETCH (RFC822.SIZE 9 BINARY.SIZE[] 9)"


async def test_nul_in_an_ordinary_literal_is_stored_as_dovecot_does(alice: ImapTalk) -> None:
    """RFC 3516 does not make a server refuse it; Dovecot stores it, serves the NUL in
    BINARY[] and as 0x80 in BODY[] (a literal may not hold NUL, RFC 9051 §4.3)."""
    assert (await alice.append("INBOX", MULTIPART)).ok
    line = await fetch(alice, "BINARY.PEEK[2] BODY.PEEK[2]")
    assert line == b"* 1 FETCH (BINARY[2] ~{9}\r\na\r\nb\x00c\r\nd BODY[2] {9}\r\na\r\nb\x80c\r\nd)"


async def test_multiappend_converts_only_the_literal8_messages(alice: ImapTalk) -> None:
    await alice.send(
        b"a7 APPEND INBOX {%d+}\r\n%s ~{%d+}\r\n%s\r\n"
        % (len(MULTIPART), MULTIPART, len(MULTIPART), MULTIPART)
    )
    assert (await alice.reply("a7")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("FETCH 1:2 BINARY.SIZE[2]")
    assert [re.sub(rb"^\* (\d) FETCH ", rb"\1 ", line) for line in reply.untagged[-2:]] == [
        b"1 (BINARY.SIZE[2] 9)",
        b"2 (BINARY.SIZE[2] 7)",
    ]
