"""IMAP4rev2 (RFC 9051) once a client ENABLEs it: no \\Recent and no RECENT responses,
SEARCH answered with ESEARCH, and SELECT without the UNSEEN code."""

from __future__ import annotations

from tests.support.imap_talk import ImapTalk

MESSAGE = b"Subject: rev2\r\n\r\nHello.\r\n"


async def test_imap4rev2_has_no_recent_and_answers_search_with_esearch(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", MESSAGE)).ok
    reply = await alice.command("ENABLE IMAP4rev2")
    assert reply.lines("ENABLED") == ["ENABLED IMAP4REV2"]
    reply = await alice.command("SELECT INBOX")
    assert not [line for line in reply.untagged if line.endswith(b"RECENT")]
    assert not [line for line in reply.untagged if b"[UNSEEN " in line]
    reply = await alice.command("FETCH 1 (FLAGS)")
    assert reply.lines("1 FETCH") == ["1 FETCH (FLAGS ())"]
    reply = await alice.command("SEARCH ALL")
    tag = reply.tagged.split()[0].decode()
    assert reply.untagged == [f'* ESEARCH (TAG "{tag}") ALL 1'.encode()]
    reply = await alice.append("INBOX", MESSAGE)
    assert reply.untagged == [b"* 2 EXISTS"]  # and no RECENT after it


async def test_without_imap4rev2_the_same_mailbox_shows_recent(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", MESSAGE)).ok
    reply = await alice.command("SELECT INBOX")
    assert b"* 1 RECENT" in reply.untagged
    reply = await alice.command("SEARCH ALL")
    assert reply.untagged == [b"* SEARCH 1"]
