"""SELECT and EXAMINE over the wire (RFC 9051 §6.3.2-§6.3.3, RFC 3501 §6.3.1): the
untagged answers a client builds its view from, in Dovecot's words and order."""

from __future__ import annotations

import re

from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost


def number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match is not None, text
    return int(match.group(1))


async def test_select_of_an_empty_inbox(alice: ImapTalk) -> None:
    status = (await alice.command("STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")).text()
    uidvalidity = number(r"UIDVALIDITY (\d+)", status)
    modseq = number(r"HIGHESTMODSEQ (\d+)", status)
    reply = await alice.command("SELECT INBOX")
    assert reply.untagged == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
        b"Flags permitted.",
        b"* 0 EXISTS",
        b"* 0 RECENT",
        b"* OK [UIDVALIDITY %d] UIDs valid" % uidvalidity,
        b"* OK [UIDNEXT 1] Predicted next UID",
        b"* OK [HIGHESTMODSEQ %d] Highest" % modseq,
    ]
    assert reply.tagged == b"a3 OK [READ-WRITE] Select completed."


async def test_select_counts_messages_recent_and_the_first_unseen(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n", "(\\Seen)")).ok
    assert (await alice.append("INBOX", b"Subject: 2\r\n\r\n2\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: 3\r\n\r\n3\r\n")).ok
    reply = await alice.command("SELECT INBOX")
    assert b"* 3 EXISTS" in reply.untagged
    assert b"* OK [UNSEEN 2] First unseen." in reply.untagged
    assert b"* OK [UIDNEXT 4] Predicted next UID" in reply.untagged


async def test_select_counts_appended_messages_as_recent(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: 2\r\n\r\n2\r\n")).ok
    reply = await alice.command("SELECT INBOX")
    assert b"* 2 RECENT" in reply.untagged


async def test_a_message_appended_with_flags_is_recent_too(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n", "(\\Seen)")).ok
    reply = await alice.command("SELECT INBOX")
    assert b"* 1 RECENT" in reply.untagged


async def test_select_without_unseen_messages_sends_no_unseen(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n", "(\\Seen)")).ok
    reply = await alice.command("SELECT INBOX")
    assert not [line for line in reply.untagged if b"[UNSEEN" in line]


async def test_flags_include_the_keywords_of_the_mailbox(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n", "($Forwarded Work)")).ok
    reply = await alice.command("SELECT INBOX")
    assert (
        reply.untagged[0]
        == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Work)"
    )
    assert reply.untagged[1] == (
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Work \\*)]"
        b" Flags permitted."
    )


async def test_select_inbox_in_any_case(alice: ImapTalk) -> None:
    reply = await alice.command("SELECT iNbOx")
    assert reply.tagged == b"a2 OK [READ-WRITE] Select completed."


async def test_select_of_a_missing_mailbox_is_refused_with_nonexistent(alice: ImapTalk) -> None:
    reply = await alice.command("SELECT Nothing")
    assert reply.untagged == []
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Nothing"


async def test_a_refusal_names_the_mailbox_as_the_client_wrote_it(alice: ImapTalk) -> None:
    # 7-bit text for a client without UTF8=ACCEPT, as Dovecot answers.
    reply = await alice.command("SELECT Entw&APw-rfe")
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Entw&APw-rfe"


async def test_a_refusal_names_the_mailbox_in_utf8_for_a_utf8_client(alice: ImapTalk) -> None:
    assert (await alice.command("ENABLE UTF8=ACCEPT")).ok
    reply = await alice.command('SELECT "Entwürfe"')
    assert reply.tagged == "a3 NO [NONEXISTENT] Mailbox doesn't exist: Entwürfe".encode()


async def test_select_of_a_noselect_level_is_refused(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Lists.Python")).ok
    reply = await alice.command("SELECT Lists")
    assert reply.tagged == b"a3 NO [NONEXISTENT] Mailbox doesn't exist: Lists"


async def test_a_failed_select_leaves_no_mailbox_selected(alice: ImapTalk) -> None:
    # RFC 9051 §6.3.2: a failed SELECT closes the mailbox that was selected.
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("SELECT Nothing")).status == "NO"
    reply = await alice.command("FETCH 1 FLAGS")
    assert reply.tagged == b"a5 BAD No mailbox selected."


async def test_select_of_another_mailbox_sends_no_closed_to_a_plain_client(
    alice: ImapTalk,
) -> None:
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("SELECT Sent")
    assert reply.untagged[0].startswith(b"* FLAGS")


async def test_select_of_another_mailbox_sends_closed_under_qresync(alice: ImapTalk) -> None:
    assert (await alice.command("ENABLE QRESYNC")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("SELECT Sent")
    assert reply.untagged[0] == b"* OK [CLOSED] Previous mailbox closed."
    assert reply.untagged[1].startswith(b"* FLAGS")


async def test_imap4rev2_select_sends_closed_and_no_recent_or_unseen(alice: ImapTalk) -> None:
    # RFC 9051 Appendix E: RECENT and the UNSEEN response code are gone in IMAP4rev2.
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    assert (await alice.command("ENABLE IMAP4rev2")).ok
    assert (await alice.command("SELECT Sent")).ok
    reply = await alice.command("SELECT INBOX")
    assert reply.untagged[0] == b"* OK [CLOSED] Previous mailbox closed."
    assert b"* 1 EXISTS" in reply.untagged
    assert not [line for line in reply.untagged if b"RECENT" in line or b"UNSEEN" in line]


async def test_imap4rev2_select_sends_the_mailboxs_list_line(alice: ImapTalk) -> None:
    # RFC 9051 §6.3.2: "The server MUST return a LIST response with the mailbox name."
    assert (await alice.command("ENABLE IMAP4rev2")).ok
    reply = await alice.command("SELECT Sent")
    assert b'* LIST (\\HasNoChildren \\Sent \\Subscribed) "." "Sent"' in reply.untagged
    reply = await alice.command("EXAMINE inbox")
    assert b'* LIST (\\HasNoChildren) "." "INBOX"' in reply.untagged


async def test_imap4rev1_select_sends_no_list_line(alice: ImapTalk) -> None:
    reply = await alice.command("SELECT Sent")
    assert not [line for line in reply.untagged if line.startswith(b"* LIST")]


async def test_examine_is_read_only(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    reply = await alice.command("EXAMINE INBOX")
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox." in reply.untagged
    assert reply.tagged == b"a3 OK [READ-ONLY] Examine completed."
    store = await alice.command("STORE 1 +FLAGS (\\Seen)")
    assert store.tagged == b"a4 NO [READ-ONLY] Mailbox is read-only."


async def test_examine_shows_recent_and_leaves_it_for_the_next_select(alice: ImapTalk) -> None:
    # As Dovecot: a read-only session sees the recent messages, without claiming them.
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: 2\r\n\r\n2\r\n", "(\\Seen)")).ok
    assert b"* 2 RECENT" in (await alice.command("EXAMINE INBOX")).untagged
    assert (await alice.command("FETCH 1:2 FLAGS")).untagged == [
        b"* 1 FETCH (FLAGS (\\Recent))",
        b"* 2 FETCH (FLAGS (\\Seen \\Recent))",
    ]
    assert b"* 2 RECENT" in (await alice.command("SELECT INBOX")).untagged
    assert b"* 0 RECENT" in (await alice.command("EXAMINE INBOX")).untagged


async def test_recent_goes_to_the_first_session_that_selects(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    # RFC 3501 §2.3.2: \Recent is reported to one session only.
    other = await login(imap_host)
    assert (await alice.append("INBOX", b"Subject: 1\r\n\r\n1\r\n")).ok
    assert b"* 1 RECENT" in (await alice.command("SELECT INBOX")).untagged
    assert b"* 0 RECENT" in (await other.command("SELECT INBOX")).untagged


async def test_uidvalidity_stays_between_selects(alice: ImapTalk) -> None:
    first = number(r"UIDVALIDITY (\d+)", (await alice.command("SELECT Drafts")).text())
    second = number(r"UIDVALIDITY (\d+)", (await alice.command("SELECT Drafts")).text())
    assert first == second


async def test_a_recreated_mailbox_never_reuses_uids_under_the_same_uidvalidity(
    alice: ImapTalk,
) -> None:
    # RFC 9051 §2.3.1.1: a new mailbox of an old name gets a new UIDVALIDITY, or UIDs
    # that were never used.
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.append("Work", b"Subject: 1\r\n\r\n1\r\n")).ok
    first = (await alice.command("STATUS Work (UIDVALIDITY UIDNEXT)")).text()
    assert (await alice.command("DELETE Work")).ok
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.append("Work", b"Subject: 2\r\n\r\n2\r\n")).ok
    second = (await alice.command("STATUS Work (UIDVALIDITY UIDNEXT)")).text()
    same_validity = number(r"UIDVALIDITY (\d+)", first) == number(r"UIDVALIDITY (\d+)", second)
    assert not same_validity or number(r"UIDNEXT (\d+)", second) > number(r"UIDNEXT (\d+)", first)


async def test_select_of_a_mailbox_with_a_utf8_name(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Entw&APw-rfe")).ok
    assert (await alice.command("SELECT Entw&APw-rfe")).ok
    assert (await alice.command("ENABLE UTF8=ACCEPT")).status == "OK"
    reply = await alice.command('SELECT "Entwürfe"')
    assert reply.tagged == b"a5 OK [READ-WRITE] Select completed."


async def test_select_needs_a_mailbox_argument(alice: ImapTalk) -> None:
    reply = await alice.command("SELECT")
    assert reply.status == "BAD"


async def test_unselect_returns_to_authenticated_state(alice: ImapTalk) -> None:
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("UNSELECT")).tagged == b"a3 OK Unselect completed."
    assert (await alice.command("FETCH 1 FLAGS")).tagged == b"a4 BAD No mailbox selected."
