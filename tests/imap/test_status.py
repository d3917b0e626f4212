"""STATUS over the wire (RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ,
RFC 7889 APPENDLIMIT): every item, counted as the mailbox stands."""

from __future__ import annotations

import re

import aiosmtplib

from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

ONE = b"Subject: one\r\n\r\nfirst\r\n"
TWO = b"Subject: two\r\n\r\nthe second\r\n"


def value(item: str, text: str) -> int:
    match = re.search(rf"{item} (\d+)", text)
    assert match is not None, text
    return int(match.group(1))


async def test_status_answers_every_item_in_the_order_asked(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.append("Drafts", ONE, "(\\Seen)")).ok
    assert (await alice.append("Drafts", TWO, "(\\Deleted)")).ok
    select = (await alice.command("EXAMINE Drafts")).text()
    uidvalidity = value("UIDVALIDITY", select)
    modseq = value("HIGHESTMODSEQ", select)
    assert (await alice.command("UNSELECT")).ok
    reply = await alice.command(
        "STATUS Drafts (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE HIGHESTMODSEQ DELETED "
        "APPENDLIMIT)"
    )
    assert reply.untagged == [
        b'* STATUS "Drafts" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 RECENT 2 SIZE %d '
        b"HIGHESTMODSEQ %d DELETED 1 APPENDLIMIT %d)"
        % (uidvalidity, len(ONE) + len(TWO), modseq, imap_host.config.smtp.max_message_size)
    ]
    assert reply.tagged == b"a6 OK Status completed."


async def test_status_items_come_back_in_the_order_asked(alice: ImapTalk) -> None:
    reply = await alice.command("STATUS Sent (UNSEEN MESSAGES)")
    assert reply.untagged == [b'* STATUS "Sent" (UNSEEN 0 MESSAGES 0)']


async def test_status_echoes_the_name_as_the_client_sent_it(alice: ImapTalk) -> None:
    # As Dovecot: a client matching answers to questions finds "inbox" under "inbox".
    reply = await alice.command("STATUS inbox (MESSAGES)")
    assert reply.untagged == [b'* STATUS "inbox" (MESSAGES 0)']


async def test_status_of_a_modified_utf7_name(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Entw&APw-rfe")).ok
    reply = await alice.command("STATUS Entw&APw-rfe (MESSAGES)")
    assert reply.untagged == [b'* STATUS "Entw&APw-rfe" (MESSAGES 0)']


async def test_status_of_a_utf8_name_for_a_utf8_client(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Entw&APw-rfe")).ok
    assert (await alice.command("ENABLE UTF8=ACCEPT")).ok
    reply = await alice.command('STATUS "Entwürfe" (MESSAGES)')
    assert reply.untagged == ['* STATUS "Entwürfe" (MESSAGES 0)'.encode()]


async def test_status_of_a_missing_mailbox_is_refused_with_nonexistent(alice: ImapTalk) -> None:
    reply = await alice.command("STATUS Nothing (MESSAGES)")
    assert reply.untagged == []
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Nothing"


async def test_status_of_a_noselect_level_is_refused(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Lists.Python")).ok
    reply = await alice.command("STATUS Lists (MESSAGES)")
    assert reply.tagged == b"a3 NO [NONEXISTENT] Mailbox doesn't exist: Lists"


async def test_status_of_an_unknown_item_is_refused_with_bad(alice: ImapTalk) -> None:
    reply = await alice.command("STATUS INBOX (MESSAGES BOGUS)")
    assert reply.status == "BAD"
    assert reply.untagged == []


async def test_status_without_items_is_refused_with_bad(alice: ImapTalk) -> None:
    assert (await alice.command("STATUS INBOX ()")).status == "BAD"


async def test_status_of_a_name_leaving_the_maildir_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command('STATUS "../bob" (MESSAGES)')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name")


async def test_status_sees_what_another_session_appended(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await login(imap_host)
    assert (await alice.command("STATUS INBOX (MESSAGES)")).untagged == [
        b'* STATUS "INBOX" (MESSAGES 0)'
    ]
    assert (await other.append("INBOX", ONE)).ok
    assert (await alice.command("STATUS INBOX (MESSAGES UIDNEXT)")).untagged == [
        b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2)'
    ]


async def test_status_sees_a_delivered_message(alice: ImapTalk, imap_host: MailHost) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=imap_host.port("smtp"), start_tls=False)
    await client.connect()
    try:
        await client.sendmail(
            "carol@outside.example",
            ["alice@example.test"],
            b"From: carol@outside.example\r\nSubject: hi\r\n\r\nhello\r\n",
        )
    finally:
        await client.quit()
    await imap_host.delivered("alice@example.test")
    reply = await alice.command("STATUS INBOX (MESSAGES UNSEEN RECENT)")
    assert reply.untagged == [b'* STATUS "INBOX" (MESSAGES 1 UNSEEN 1 RECENT 1)']


async def test_status_recent_does_not_take_recent_from_the_next_select(
    alice: ImapTalk,
) -> None:
    assert (await alice.append("INBOX", ONE)).ok
    assert (await alice.command("STATUS INBOX (RECENT)")).untagged == [
        b'* STATUS "INBOX" (RECENT 1)'
    ]
    assert b"* 1 RECENT" in (await alice.command("SELECT INBOX")).untagged


async def test_status_of_the_selected_mailbox_counts_its_flags_now(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", ONE)).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1 +FLAGS (\\Seen \\Deleted)")).ok
    reply = await alice.command("STATUS INBOX (UNSEEN DELETED)")
    assert reply.untagged == [b'* STATUS "INBOX" (UNSEEN 0 DELETED 1)']


async def test_status_highestmodseq_grows_with_a_flag_change(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await login(imap_host)
    assert (await alice.append("INBOX", ONE)).ok
    before = value("HIGHESTMODSEQ", (await alice.command("STATUS INBOX (HIGHESTMODSEQ)")).text())
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command("STORE 1 +FLAGS (\\Flagged)")).ok
    after = value("HIGHESTMODSEQ", (await alice.command("STATUS INBOX (HIGHESTMODSEQ)")).text())
    assert after > before


async def test_status_size_counts_the_octets_of_every_message(alice: ImapTalk) -> None:
    assert (await alice.append("Sent", ONE)).ok
    assert (await alice.append("Sent", TWO)).ok
    assert (await alice.append("Sent", b"x" * 5000 + b"\r\n")).ok
    reply = await alice.command("STATUS Sent (SIZE)")
    assert reply.untagged == [b'* STATUS "Sent" (SIZE %d)' % (len(ONE) + len(TWO) + 5002)]


async def test_status_appendlimit_matches_the_capability(alice: ImapTalk) -> None:
    capability = (await alice.command("CAPABILITY")).text()
    limit = value("APPENDLIMIT=", capability.replace("APPENDLIMIT=", "APPENDLIMIT= "))
    reply = await alice.command("STATUS INBOX (APPENDLIMIT)")
    assert reply.untagged == [b'* STATUS "INBOX" (APPENDLIMIT %d)' % limit]
