"""\\Recent as Dovecot keeps it (RFC 3501 §2.3.2): every message new to a mailbox,
however it came (APPEND with or without flags, COPY, MOVE, delivery), is recent
for the one session that learns of it first with the mailbox selected read-write,
and reported with RECENT beside its EXISTS. EXAMINE and STATUS show recent
messages without taking them from the next SELECT."""

from __future__ import annotations

from tests.support.imap_messages import message
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost


async def test_examine_counts_two_appended_messages_as_recent(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", message(1))).ok
    assert (await alice.append("INBOX", message(2), "(\\Seen)")).ok
    reply = await alice.command("EXAMINE INBOX")
    assert b"* 2 RECENT" in reply.untagged


async def test_a_copy_into_a_mailbox_another_session_has_selected_is_recent_there(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    watcher = await login(imap_host)
    assert (await alice.append("INBOX", message(1), "(\\Seen)")).ok
    assert (await watcher.command("SELECT Archive")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("COPY 1 Archive")).ok

    reply = await watcher.command("NOOP")
    assert reply.untagged == [b"* 1 EXISTS", b"* 1 RECENT"]
    reply = await watcher.command("FETCH 1 FLAGS")
    assert reply.untagged == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))"]
    await watcher.close()


async def test_a_message_appended_with_flags_to_a_selected_mailbox_is_recent_once(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    first = await login(imap_host)
    second = await login(imap_host)
    assert (await first.command("SELECT Archive")).ok
    assert (await second.command("SELECT Archive")).ok
    assert (await alice.append("Archive", message(1), "(\\Flagged)")).ok

    assert (await first.command("NOOP")).untagged == [b"* 1 EXISTS", b"* 1 RECENT"]
    # The first to learn of it has it; the other is told of the message, not as recent.
    assert (await second.command("NOOP")).untagged == [b"* 1 EXISTS", b"* 0 RECENT"]
    assert (await second.command("FETCH 1 FLAGS")).untagged == [b"* 1 FETCH (FLAGS (\\Flagged))"]
    assert (await first.command("FETCH 1 FLAGS")).untagged == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))"
    ]
    await first.close()
    await second.close()


async def test_a_moved_message_is_recent_in_its_new_mailbox(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.append("INBOX", message(1), "(\\Seen)")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("MOVE 1 Archive")).ok
    reply = await alice.command("STATUS Archive (MESSAGES RECENT)")
    assert reply.untagged == [b'* STATUS "Archive" (MESSAGES 1 RECENT 1)']
    assert b"* 1 RECENT" in (await alice.command("SELECT Archive")).untagged


async def test_a_read_only_session_sees_new_messages_as_recent_and_leaves_them(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    reader = await login(imap_host)
    assert (await reader.command("EXAMINE Archive")).ok
    assert (await alice.append("Archive", message(1), "(\\Seen)")).ok
    assert (await reader.command("NOOP")).untagged == [b"* 1 EXISTS", b"* 1 RECENT"]
    assert b"* 1 RECENT" in (await alice.command("SELECT Archive")).untagged
    await reader.close()


async def test_status_counts_recent_messages_until_a_select_claims_them(
    alice: ImapTalk,
) -> None:
    assert (await alice.append("Archive", message(1), "(\\Seen)")).ok
    assert (await alice.append("Archive", message(2))).ok
    status = await alice.command("STATUS Archive (RECENT)")
    assert status.untagged == [b'* STATUS "Archive" (RECENT 2)']
    assert b"* 2 RECENT" in (await alice.command("SELECT Archive")).untagged
    assert (await alice.command("UNSELECT")).ok
    status = await alice.command("STATUS Archive (RECENT)")
    assert status.untagged == [b'* STATUS "Archive" (RECENT 0)']


async def test_a_session_in_idle_is_told_of_a_new_recent_message(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command("SELECT Archive")).ok
    await alice.send(b"a9 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    other = await login(imap_host)
    assert (await other.append("Archive", message(1), "(\\Seen)")).ok
    assert await alice.read_response() == b"* 1 EXISTS"
    assert await alice.read_response() == b"* 1 RECENT"
    await alice.send(b"DONE\r\n")
    assert (await alice.reply("a9")).ok
    await other.close()
