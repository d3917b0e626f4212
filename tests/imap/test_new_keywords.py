"""A keyword new to a mailbox is announced before any FETCH shows it (RFC 3501 §7.2.6):
`* FLAGS` and `* OK [PERMANENTFLAGS]` with the folder's keywords, in Dovecot's words,
whether this session's STORE made it or another session's (or process's) did."""

from __future__ import annotations

from tests.support.imap_messages import message
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

SYSTEM = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft"


def announced(*keywords: bytes) -> list[bytes]:
    """What a read-write session is sent when the folder's keywords are these."""
    flags = b" ".join([SYSTEM, *keywords])
    return [
        b"* FLAGS (%s)" % flags,
        b"* OK [PERMANENTFLAGS (%s \\*)] Flags permitted." % flags,
    ]


async def selected_twice(alice: ImapTalk, imap_host: MailHost) -> ImapTalk:
    """Alice and another session of hers with INBOX selected, its one message recent for
    neither (claimed by an earlier SELECT)."""
    assert (await alice.append("INBOX", message(1), "(\\Flagged)")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("SELECT INBOX")).ok
    other = await login(imap_host)
    assert (await other.command("SELECT INBOX")).ok
    return other


async def test_a_store_of_a_new_keyword_announces_it_before_its_fetch(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await selected_twice(alice, imap_host)
    reply = await alice.command("STORE 1 +FLAGS ($keyword1 $keyword2)")
    assert reply.untagged == [
        *announced(b"$keyword1", b"$keyword2"),
        b"* 1 FETCH (FLAGS (\\Flagged $keyword1 $keyword2))",
    ]
    # Told once: a keyword the client knows is not announced again.
    reply = await alice.command("STORE 1 -FLAGS ($keyword1)")
    assert reply.untagged == [b"* 1 FETCH (FLAGS (\\Flagged $keyword2))"]
    await other.close()


async def test_another_sessions_new_keyword_is_announced_before_its_fetch_on_noop(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await selected_twice(alice, imap_host)
    assert (await alice.command("STORE 1 +FLAGS.SILENT ($keyword1)")).ok
    reply = await other.command("NOOP")
    assert reply.untagged == [
        *announced(b"$keyword1"),
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged $keyword1))",
    ]
    await other.close()


async def test_another_sessions_new_keyword_is_announced_before_a_fetch_shows_it(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await selected_twice(alice, imap_host)
    assert (await alice.command("STORE 1 +FLAGS.SILENT ($keyword1)")).ok
    # The FETCH's own answer comes before the command's updates: FLAGS must come first.
    reply = await other.command("FETCH 1 FLAGS")
    assert reply.untagged[:3] == [
        *announced(b"$keyword1"),
        b"* 1 FETCH (FLAGS (\\Flagged $keyword1))",
    ]
    await other.close()


async def test_a_read_only_session_is_told_of_new_keywords_with_no_permanent_flags(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.append("INBOX", message(1))).ok
    assert (await alice.command("SELECT INBOX")).ok
    reader = await login(imap_host)
    assert (await reader.command("EXAMINE INBOX")).ok
    assert (await alice.command("STORE 1 +FLAGS.SILENT (Junk)")).ok
    reply = await reader.command("NOOP")
    assert reply.untagged == [
        b"* FLAGS (%s Junk)" % SYSTEM,
        b"* OK [PERMANENTFLAGS ()] Read-only mailbox.",
        b"* 1 FETCH (UID 1 FLAGS (Junk))",
    ]
    await reader.close()
