"""APPEND … CATENATE (RFC 4469) over the wire: a message put together from text the
client sends and messages or parts of its own mailboxes named by IMAP URLs (RFC 5092);
BADURL, TOOBIG, TRYCREATE, and nothing stored when any part fails. Dovecot's answers
(2.3.19, and imaptest's catenate tests) are the reference. imaplib cannot send
CATENATE: these are raw conversations."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.imap_talk import IMAP_LISTENERS, ImapReply, ImapTalk, login
from tests.support.mail_host import MailHost, start_host

FIRST = b"From: foo@example.com\r\n\r\nHello world body\r\n"
SECOND = b"From: foo2@example.com\r\n\r\nLookslike: header\r\n\r\nAnother body\r\n"
MULTIPART = (
    b"From: Alice <alice@example.test>\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"first part\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"second part\r\n"
    b"--b--\r\n"
)


def text(data: bytes) -> bytes:
    """A TEXT part with a non-synchronizing literal."""
    return b"TEXT {%d+}\r\n" % len(data) + data


async def raw(talk: ImapTalk, line: bytes) -> ImapReply:
    """Send `tag line CRLF` as it is (literals inline) and read the reply."""
    tag = talk.next_tag()
    await talk.send(tag.encode() + b" " + line + b"\r\n")
    return await talk.reply(tag)


async def bodies(talk: ImapTalk, mailbox: str) -> list[bytes]:
    """BODY[] of every message of `mailbox`, in order."""
    assert (await talk.command(f"EXAMINE {mailbox}")).ok
    reply = await talk.command("UID FETCH 1:* BODY.PEEK[]")
    assert reply.ok, reply.tagged
    out = []
    for line in reply.untagged:
        _, found, value = line.partition(b" BODY[] ")
        if not found:
            continue
        literal = re.match(rb"\{(\d+)\}\r\n", value)
        if literal:
            out.append(value[literal.end() : literal.end() + int(literal.group(1))])
        else:
            quoted = value[1 : value.rindex(b'"')]
            out.append(re.sub(rb'\\([\\"])', rb"\1", quoted))
    return out


async def uidvalidity(talk: ImapTalk, mailbox: str) -> int:
    reply = await talk.command(f"STATUS {mailbox} (UIDVALIDITY)")
    return int(reply.untagged[0].rsplit(b" ", 1)[1].rstrip(b")"))


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with FIRST and SECOND (UIDs 1, 2) in INBOX and MULTIPART (UID 1) in Archive."""
    for data in (FIRST, SECOND):
        assert (await alice.append("INBOX", data)).ok
    assert (await alice.append("Archive", MULTIPART)).ok
    return alice


async def test_catenate_is_offered(alice: ImapTalk) -> None:
    reply = await alice.command("CAPABILITY")
    assert " CATENATE " in reply.untagged[0].decode()
    assert " MULTIAPPEND " in reply.untagged[0].decode()


async def test_text_parts_are_joined_with_flags_and_date(alice: ImapTalk) -> None:
    line = b'Drafts (\\Seen $Todo) "14-Jul-2025 02:44:25 -0700" CATENATE ('
    line += text(b"From: hdr1@example.com\r\n\r\n") + b" " + text(b"") + b" "
    line += text(b"Subject: hdr2\r\n\r\n") + b")"
    reply = await raw(alice, b"APPEND " + line)
    assert reply.ok and b"[APPENDUID " in reply.tagged, reply.tagged
    assert await bodies(alice, "Drafts") == [b"From: hdr1@example.com\r\n\r\nSubject: hdr2\r\n\r\n"]
    reply = await alice.command("FETCH 1 (FLAGS INTERNALDATE)")
    assert reply.lines("1 FETCH") == [  # EXAMINEd: \Recent is shown, not claimed (Dovecot)
        '1 FETCH (FLAGS (\\Seen \\Recent $Todo) INTERNALDATE "14-Jul-2025 09:44:25 +0000")'
    ]


async def test_url_parts_are_read_from_the_users_mailboxes(alice: ImapTalk) -> None:
    valid = await uidvalidity(alice, "INBOX")
    parts = [
        b'URL "/INBOX/;uid=1/;section=header" ' + text(b"body1\r\n"),
        b'URL "/INBOX;UIDVALIDITY=%d/;UID=2/;SECTION=TEXT" ' % valid + text(b"body3\r\n"),
        b'URL "/inbox/;uid=2/;partial=100000.1" ' + text(b"Hdr: foo\r\n\r\nbody7\r\n"),
        text(b"From: new@example.com\r\n\r\n") + b' URL "/Archive/;UID=1/;SECTION=2"',
        b'URL "/INBOX/;UID=1/;PARTIAL=6.10"',
        b'URL "/Archive/;UID=1/;SECTION=HEADER.FIELDS%20(Content-Type)"',
    ]
    for part in parts:
        reply = await raw(alice, b"APPEND Drafts CATENATE (" + part + b")")
        assert reply.ok, reply.tagged
    assert await bodies(alice, "Drafts") == [
        b"From: foo@example.com\r\n\r\nbody1\r\n",
        b"Lookslike: header\r\n\r\nAnother body\r\nbody3\r\n",
        b"Hdr: foo\r\n\r\nbody7\r\n",
        b"From: new@example.com\r\n\r\nsecond part",
        FIRST[6:16],
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n',
    ]


async def test_a_relative_url_names_a_message_of_the_selected_mailbox(alice: ImapTalk) -> None:
    reply = await raw(alice, b'APPEND Drafts CATENATE (URL ";UID=1")')
    assert reply.tagged.endswith(b"NO [BADURL ;UID=1] No mailbox selected.")
    assert (await alice.command("SELECT INBOX")).ok
    reply = await raw(alice, b'APPEND Drafts CATENATE (URL ";UID=2/;SECTION=HEADER")')
    assert reply.ok, reply.tagged
    assert await bodies(alice, "Drafts") == [b"From: foo2@example.com\r\n\r\n"]


async def test_multiappend_with_catenate_stores_every_message(alice: ImapTalk) -> None:
    line = b'APPEND Drafts CATENATE (URL "/INBOX/;uid=1") CATENATE (URL "/INBOX/;uid=2/;'
    line += b'section=header" ' + text(b"body2\r\n") + b") (\\Answered) {5+}\r\nplain"
    reply = await raw(alice, line)
    assert reply.ok and reply.tagged.split()[4] == b"1:3]", reply.tagged
    assert await bodies(alice, "Drafts") == [
        FIRST,
        b"From: foo2@example.com\r\n\r\nbody2\r\n",
        b"plain",
    ]


ABSOLUTE = "Only URLs relative to this server and user are supported."


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER", "Invalid UIDVALIDITY."),
        ("/INBOX/;UID=9", "Message not found."),
        ("/Nowhere/;UID=1", "Mailbox doesn't exist."),
        ("/INBOX/;UID=1/;SECTION=5", "Section not found."),
        ("/INBOX/;UID=1/;SECTION=BOGUS", "Invalid section in URL."),
        ("imap://bob@mail.example.test/INBOX/;UID=1", ABSOLUTE),
        ("imap://alice%40example.test@mail.example.test/INBOX/;UID=1", ABSOLUTE),
        ("/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123", "Invalid URL."),
        ("/../../bob/Maildir/;UID=1", "Mailbox doesn't exist."),
        ("/..%2F..%2Fetc/;UID=1", "Mailbox doesn't exist."),
        ("/.Archive/;UID=1", "Mailbox doesn't exist."),
        ("/INBOX]/;UID=1", "Mailbox doesn't exist."),
    ],
)  # fmt: skip
async def test_a_bad_url_stores_nothing(alice: ImapTalk, url: str, text: str) -> None:
    """Also in a MULTIAPPEND whose first message was fine (RFC 3502: all or none)."""
    line = b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1") CATENATE (URL "%s" ' % url.encode()
    reply = await raw(alice, line + text_part() + b")")
    shown = url.replace("]", "%5D")
    assert reply.tagged.endswith(f"NO [BADURL {shown}] {text}".encode()), reply.tagged
    assert await bodies(alice, "Drafts") == []


def text_part() -> bytes:
    return text(b"tail\r\n")


async def test_a_missing_target_says_trycreate_before_any_url_is_read(alice: ImapTalk) -> None:
    line = b'APPEND Nowhere CATENATE (URL "/Nowhere/;UID=1" ' + text(b"x") + b")"
    reply = await raw(alice, line)
    assert reply.tagged.endswith(b"NO [TRYCREATE] Mailbox doesn't exist: Nowhere")


async def test_a_binary_text_after_another_first_part_is_unknown_cte(alice: ImapTalk) -> None:
    line = b"APPEND Drafts CATENATE (" + text(b"a: b\r\n\r\n") + b" TEXT ~{3+}\r\nx\x00y)"
    reply = await raw(alice, line)
    assert reply.tagged.endswith(
        b"NO [UNKNOWN-CTE] Binary input allowed only when the first part is binary."
    )
    assert await bodies(alice, "Drafts") == []


async def test_a_binary_first_part_makes_the_message_binary(alice: ImapTalk) -> None:
    head = b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    line = b"APPEND Drafts CATENATE (TEXT ~{%d+}\r\n%s TEXT ~{3+}\r\n\n\x00\n" % (len(head), head)
    line += b' URL "/INBOX/;UID=1/;SECTION=TEXT")'
    reply = await raw(alice, line)
    assert reply.ok, reply.tagged
    assert (await alice.command("SELECT Drafts")).ok
    reply = await alice.command("FETCH 1 BINARY.PEEK[1]")
    body = b"\n\x00\nHello world body\r\n"
    assert reply.untagged[-1] == b"* 1 FETCH (BINARY[1] ~{%d}\r\n%s)" % (len(body), body)


async def test_an_empty_catenate_is_bad(alice: ImapTalk) -> None:
    reply = await raw(alice, b"APPEND Drafts CATENATE ()")
    assert reply.tagged.endswith(b"BAD Empty CATENATE list")


async def test_only_empty_parts_make_no_message(alice: ImapTalk) -> None:
    reply = await raw(alice, b"APPEND Drafts CATENATE (" + text(b"") + b")")
    assert reply.tagged.endswith(b"NO Can't save a zero byte message.")


@pytest.fixture
async def small_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host whose messages may have 4 KiB at most (APPENDLIMIT=4096)."""
    settings = {'# max_message_size = "50M"': 'max_message_size = "4K"'}
    async for host in start_host(tmp_path / "host", settings, listeners=IMAP_LISTENERS):
        yield host


async def test_the_composed_message_is_limited_like_an_append(small_host: MailHost) -> None:
    talk = await login(small_host)
    try:
        assert "APPENDLIMIT=4096" in (await talk.command("CAPABILITY")).text()
        big = b"Subject: big\r\n\r\n" + b"x" * 3000
        assert (await talk.append("INBOX", big)).ok
        # Known from the URL only once it is read: the whole answers TOOBIG.
        reply = await raw(talk, b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" ' + text(big) + b")")
        assert reply.tagged.endswith(b"NO [TOOBIG] Composed message grows too big.")
        # TEXT parts together over the limit: refused before they are sent.
        reply = await raw(talk, b"APPEND Drafts CATENATE (" + text(big) + b" " + text(big) + b")")
        assert b" NO [TOOBIG] " in reply.tagged
        assert await bodies(talk, "Drafts") == []
        # At the limit it fits.
        fits = big + b"y" * (4096 - 2 * len(big))
        line = b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" ' + text(fits[len(big) :]) + b")"
        assert (await raw(talk, line)).ok
    finally:
        await talk.close()


async def test_a_url_cannot_read_another_users_mailbox(imap_host: MailHost) -> None:
    bob = await login(imap_host, "bob@example.test")
    alice = await login(imap_host)
    try:
        assert (await bob.append("INBOX", FIRST)).ok
        reply = await raw(alice, b'APPEND INBOX CATENATE (URL "/INBOX/;UID=1")')
        assert reply.tagged.endswith(b"NO [BADURL /INBOX/;UID=1] Message not found.")
        for url in (b"imap://bob@mail.example.test/INBOX/;UID=1", b"/~bob/INBOX/;UID=1"):
            reply = await raw(alice, b'APPEND INBOX CATENATE (URL "%s")' % url)
            assert b" NO [BADURL " + url + b"] " in reply.tagged
        assert await bodies(alice, "INBOX") == []
    finally:
        await alice.close()
        await bob.close()
