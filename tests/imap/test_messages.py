"""Changing messages: APPEND (flags, date, MULTIAPPEND, big literals, limits), STORE,
COPY, MOVE, EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT (RFC 9051 §6.3.12, §6.4; RFC 4315,
RFC 6851, RFC 3502, RFC 7889)."""

from __future__ import annotations

from tests.support.imap_messages import append_many, message
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import MailHost


async def test_append_keeps_flags_and_internal_date(alice: ImapTalk) -> None:
    appended = await alice.append(
        "INBOX", message(1), '(\\Seen $Work) "14-Jul-2025 02:44:25 -0700"'
    )
    tagged = appended.tagged
    assert tagged.startswith(b"a2 OK [APPENDUID ")
    assert tagged.split()[4] == b"1]"
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)")
    assert reply.lines("1 FETCH") == [
        f'1 FETCH (FLAGS (\\Seen \\Recent $Work) INTERNALDATE "14-Jul-2025 09:44:25 +0000" '
        f"RFC822.SIZE {len(message(1))})"
    ]


async def test_multiappend_adds_every_message_with_consecutive_uids(alice: ImapTalk) -> None:
    first, second = message(1), message(2)
    await alice.send(
        f"a9 APPEND Archive (\\Seen) {{{len(first)}+}}\r\n".encode()
        + first
        + f" {{{len(second)}+}}\r\n".encode()
        + second
        + b"\r\n"
    )
    reply = await alice.reply("a9")
    assert reply.ok, reply.tagged
    assert b"[APPENDUID " in reply.tagged and b" 1:2]" in reply.tagged
    reply = await alice.command("STATUS Archive (MESSAGES UNSEEN)")
    # The flags belong to the first message only.
    assert reply.lines("STATUS") == ['STATUS "Archive" (MESSAGES 2 UNSEEN 1)']


async def test_a_big_append_is_streamed_and_read_back_whole(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    body = b"".join(b"line %07d of a long message\r\n" % n for n in range(100_000))
    data = b"Subject: big\r\n\r\n" + body
    assert len(data) > 3_000_000
    await alice.send(f"a5 APPEND INBOX {{{len(data)}}}\r\n".encode())
    assert await alice.read_response() == b"+ OK"
    await alice.send(data + b"\r\n")
    assert (await alice.reply("a5")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    (line,) = reply.untagged[-1:]
    assert f"RFC822.SIZE {len(data)}".encode() in line
    assert line.endswith(data + b")")
    # The spooled copy of the literal is gone.
    tmp = imap_host.maildir("alice@example.test") / "tmp"
    assert not [p for p in tmp.iterdir() if p.name.startswith("mailroom-append.")]


async def test_append_over_the_limit_is_refused_before_it_is_sent(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    limit = imap_host.config.smtp.max_message_size
    await alice.send(f"a1 APPEND INBOX {{{limit + 1}}}\r\n".encode())
    reply = await alice.reply("a1")
    assert reply.tagged.startswith(b"a1 NO [TOOBIG]")
    assert (await alice.command("NOOP")).ok


async def test_append_to_a_missing_mailbox_says_trycreate(alice: ImapTalk) -> None:
    tagged = (await alice.append("Nowhere", message(1))).tagged
    assert tagged == b"a2 NO [TRYCREATE] Mailbox doesn't exist: Nowhere"


async def test_store_sets_adds_and_removes_flags(alice: ImapTalk) -> None:
    await alice.append("INBOX", message(1), "(\\Seen)")
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("SELECT INBOX")).ok  # its \\Recent went to the first one
    reply = await alice.command("STORE 1 +FLAGS (\\Flagged $Label1)")
    assert reply.lines("1 FETCH") == ["1 FETCH (FLAGS (\\Flagged \\Seen $Label1))"]
    reply = await alice.command("STORE 1 -FLAGS (\\Seen)")
    assert reply.lines("1 FETCH") == ["1 FETCH (FLAGS (\\Flagged $Label1))"]
    reply = await alice.command("UID STORE 1 FLAGS (\\Answered)")
    assert reply.lines("1 FETCH") == ["1 FETCH (UID 1 FLAGS (\\Answered))"]
    reply = await alice.command("STORE 1 +FLAGS.SILENT (\\Draft)")
    assert reply.untagged == []
    reply = await alice.command("STORE 2 +FLAGS (\\Seen)")
    assert reply.status == "BAD"
    reply = await alice.command("STORE 1 +FLAGS (\\Bogus)")
    assert reply.status == "BAD"


async def test_examine_is_read_only(alice: ImapTalk) -> None:
    await alice.append("INBOX", message(1))
    reply = await alice.command("EXAMINE INBOX")
    assert reply.tagged == b"a3 OK [READ-ONLY] Examine completed."
    reply = await alice.command("STORE 1 +FLAGS (\\Seen)")
    assert reply.tagged == b"a4 NO [READ-ONLY] Mailbox is read-only."
    reply = await alice.command("FETCH 1 (BODY[])")
    assert b"FLAGS" not in reply.untagged[0]  # no \Seen set in a read-only mailbox


async def test_copy_answers_copyuid_and_keeps_flags(alice: ImapTalk) -> None:
    await append_many(alice, "INBOX", range(1, 4))
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 2 +FLAGS (\\Flagged)")).ok
    reply = await alice.command("COPY 2:3 Archive")
    assert reply.ok
    uidvalidity = reply.tagged.split()[3]
    assert reply.tagged.endswith(b" OK [COPYUID " + uidvalidity + b" 2:3 1:2] Copy completed.")
    reply = await alice.command("EXAMINE Archive")
    reply = await alice.command("FETCH 1:* (UID FLAGS)")
    # New in Archive, so recent (EXAMINE shows it, as Dovecot does).
    assert reply.lines("") == [
        "1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))",
        "2 FETCH (UID 2 FLAGS (\\Recent))",
    ]
    reply = await alice.command("COPY 1 Nowhere")
    assert b" NO [TRYCREATE]" in reply.tagged


async def test_move_reports_copyuid_then_the_expunges(alice: ImapTalk) -> None:
    await append_many(alice, "INBOX", range(1, 4))
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("UID MOVE 1:2 Trash")
    assert reply.untagged[0].startswith(b"* OK [COPYUID ")
    assert reply.untagged[1:] == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"]
    assert reply.tagged.endswith(b" OK Move completed.")
    reply = await alice.command("FETCH 1:* (UID)")
    assert reply.lines("") == ["1 FETCH (UID 3)"]


async def test_uid_expunge_removes_only_the_named_deleted_messages(alice: ImapTalk) -> None:
    await append_many(alice, "INBOX", range(1, 5))
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1:3 +FLAGS.SILENT (\\Deleted)")).ok
    reply = await alice.command("UID EXPUNGE 2:4")
    assert reply.untagged == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"]
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* 1 EXPUNGE"]
    reply = await alice.command("FETCH 1:* (UID)")
    assert reply.lines("") == ["1 FETCH (UID 4)"]


async def test_close_expunges_silently_and_unselect_does_not(alice: ImapTalk) -> None:
    await append_many(alice, "INBOX", range(1, 3))
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    reply = await alice.command("UNSELECT")
    assert reply.untagged == [] and reply.ok
    reply = await alice.command("STATUS INBOX (MESSAGES)")
    assert reply.lines("STATUS") == ['STATUS "INBOX" (MESSAGES 2)']
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("CLOSE")
    assert reply.untagged == [] and reply.ok
    reply = await alice.command("STATUS INBOX (MESSAGES)")
    assert reply.lines("STATUS") == ['STATUS "INBOX" (MESSAGES 1)']
    reply = await alice.command("FETCH 1 (UID)")
    assert reply.tagged.endswith(b"BAD No mailbox selected.")
