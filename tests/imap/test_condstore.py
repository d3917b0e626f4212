"""CONDSTORE and QRESYNC over the wire (RFC 7162): mod-sequences in SELECT, FETCH and
STORE, conditional STORE, CHANGEDSINCE, and the quick resync of SELECT (QRESYNC …)
with VANISHED (EARLIER)."""

from __future__ import annotations

import re

from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost


async def append(talk: ImapTalk, count: int, mailbox: str = "INBOX") -> None:
    for n in range(1, count + 1):
        reply = await talk.append(mailbox, b"Subject: message %d\r\n\r\nbody %d\r\n" % (n, n))
        assert reply.ok, reply.tagged


def value(item: str, text: str) -> int:
    match = re.search(rf"{item} \(?(\d+)", text)
    assert match is not None, text
    return int(match.group(1))


async def mailbox_state(talk: ImapTalk, mailbox: str = "INBOX") -> tuple[int, int]:
    """(UIDVALIDITY, HIGHESTMODSEQ) as STATUS tells them."""
    text = (await talk.command(f"STATUS {mailbox} (UIDVALIDITY HIGHESTMODSEQ)")).text()
    return value("UIDVALIDITY", text), value("HIGHESTMODSEQ", text)


# -- ENABLE, SELECT (CONDSTORE) -------------------------------------------------------------


async def test_enable_condstore(alice: ImapTalk) -> None:
    reply = await alice.command("ENABLE CONDSTORE")
    assert reply.untagged == [b"* ENABLED CONDSTORE"]
    assert reply.tagged == b"a2 OK Enabled."


async def test_enable_qresync(alice: ImapTalk) -> None:
    reply = await alice.command("ENABLE QRESYNC")
    assert reply.untagged == [b"* ENABLED QRESYNC"]


async def test_enable_twice_reports_nothing_new(alice: ImapTalk) -> None:
    assert (await alice.command("ENABLE CONDSTORE")).ok
    assert (await alice.command("ENABLE CONDSTORE")).untagged == [b"* ENABLED"]


async def test_select_condstore_reports_highestmodseq(alice: ImapTalk) -> None:
    await append(alice, 2)
    _, modseq = await mailbox_state(alice)
    reply = await alice.command("SELECT INBOX (CONDSTORE)")
    assert b"* OK [HIGHESTMODSEQ %d] Highest" % modseq in reply.untagged
    assert reply.tagged == b"a5 OK [READ-WRITE] Select completed."


async def test_select_condstore_makes_flag_fetches_carry_modseq(alice: ImapTalk) -> None:
    await append(alice, 1)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    reply = await alice.command("FETCH 1 (FLAGS)")
    assert reply.untagged == [b"* 1 FETCH (FLAGS (\\Recent) MODSEQ (%d))" % modseq]


async def test_fetch_modseq_without_enable_enables_condstore(alice: ImapTalk) -> None:
    # RFC 7162 §3.1: FETCH MODSEQ is a CONDSTORE-enabling command.
    await append(alice, 1)
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("FETCH 1 (MODSEQ)")).ok
    reply = await alice.command("STORE 1 +FLAGS (\\Seen)")
    assert re.fullmatch(
        rb"\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)", reply.untagged[0]
    )


async def highestmodseq_seen_apart(host: MailHost) -> int:
    """INBOX's HIGHESTMODSEQ, asked in another session: STATUS (HIGHESTMODSEQ) would
    enable CONDSTORE in the session under test."""
    other = await login(host)
    _, modseq = await mailbox_state(other)
    await other.close()
    return modseq


async def test_first_fetch_modseq_announces_highestmodseq_once(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    # RFC 7162 §3.1: CONDSTORE turned on by a command other than SELECT (CONDSTORE)
    # brings `* OK [HIGHESTMODSEQ n]` for the selected mailbox, as in Dovecot.
    await append(alice, 1)
    modseq = await highestmodseq_seen_apart(imap_host)
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("FETCH 1 (MODSEQ)")
    assert reply.untagged == [
        b"* OK [HIGHESTMODSEQ %d] Highest" % modseq,
        b"* 1 FETCH (MODSEQ (%d))" % modseq,
    ]
    assert reply.ok
    reply = await alice.command("FETCH 1 (MODSEQ)")
    assert reply.untagged == [b"* 1 FETCH (MODSEQ (%d))" % modseq]


async def test_first_search_modseq_announces_highestmodseq(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    await append(alice, 2)
    modseq = await highestmodseq_seen_apart(imap_host)
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("UID SEARCH MODSEQ 1")
    assert reply.untagged == [
        b"* OK [HIGHESTMODSEQ %d] Highest" % modseq,
        b"* SEARCH 1 2 (MODSEQ %d)" % modseq,
    ]
    assert reply.ok


async def test_status_highestmodseq_enables_condstore(alice: ImapTalk) -> None:
    # RFC 7162 §3.1: so is STATUS (HIGHESTMODSEQ), as in Dovecot's cmd-status.c.
    await append(alice, 1)
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STATUS Sent (HIGHESTMODSEQ)")).ok
    reply = await alice.command("STORE 1 +FLAGS (\\Seen)")
    assert re.fullmatch(
        rb"\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)", reply.untagged[0]
    )


async def test_store_raises_the_modseq_of_the_message_and_the_mailbox(alice: ImapTalk) -> None:
    await append(alice, 2)
    _, before = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    reply = await alice.command("STORE 2 +FLAGS (\\Flagged)")
    modseq = value("MODSEQ", reply.text())
    assert modseq > before
    _, after = await mailbox_state(alice)
    assert after == modseq


async def test_a_store_that_changes_nothing_keeps_the_modseq(alice: ImapTalk) -> None:
    await append(alice, 1)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    first = value("MODSEQ", (await alice.command("STORE 1 +FLAGS (\\Seen)")).text())
    # Nothing changed: no FETCH (as Dovecot), and the mod-sequence stays.
    assert (await alice.command("STORE 1 +FLAGS (\\Seen)")).untagged == []
    second = value("MODSEQ", (await alice.command("FETCH 1 (MODSEQ)")).text())
    assert first == second


# -- STORE (UNCHANGEDSINCE) -----------------------------------------------------------------


async def test_unchangedsince_stores_on_an_unchanged_message(alice: ImapTalk) -> None:
    await append(alice, 1)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    reply = await alice.command(f"STORE 1 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Answered)")
    assert reply.untagged == [b"* 1 FETCH (FLAGS (\\Answered \\Recent) MODSEQ (%d))" % (modseq + 1)]
    assert reply.tagged == b"a5 OK Store completed."


async def test_unchangedsince_refuses_a_message_changed_since(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await login(imap_host)
    await append(alice, 2)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command("STORE 1 +FLAGS (\\Seen)")).ok
    reply = await alice.command(f"STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Deleted)")
    assert reply.tagged.endswith(b" OK [MODIFIED 1] Conditional store failed.")
    fetched = (await alice.command("FETCH 1:2 (FLAGS)")).lines("1 FETCH")
    assert "\\Deleted" not in fetched[-1]


async def test_uid_store_unchangedsince_reports_uids_in_modified(alice: ImapTalk) -> None:
    await append(alice, 3)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    assert (await alice.command("STORE 2:3 +FLAGS (\\Seen)")).ok
    reply = await alice.command(f"UID STORE 1:3 (UNCHANGEDSINCE {modseq}) +FLAGS.SILENT (\\Draft)")
    assert reply.tagged.endswith(b" OK [MODIFIED 2:3] Conditional store failed.")


async def test_unchangedsince_zero_fails_for_every_message(alice: ImapTalk) -> None:
    # RFC 7162 §3.1.3: UNCHANGEDSINCE 0 always fails (every message has modseq ≥ 1).
    await append(alice, 2)
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert reply.tagged == b"a5 OK [MODIFIED 1:2] Conditional store failed."


async def test_silent_conditional_store_still_reports_the_new_modseq(alice: ImapTalk) -> None:
    # RFC 7162 §3.1.3 (its example 7): FETCH with MODSEQ, and no FLAGS, even for .SILENT.
    await append(alice, 1)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    reply = await alice.command(f"STORE 1 (UNCHANGEDSINCE {modseq}) +FLAGS.SILENT (\\Seen)")
    assert reply.untagged == [b"* 1 FETCH (MODSEQ (%d))" % (modseq + 1)]


# -- FETCH (CHANGEDSINCE) -------------------------------------------------------------------


async def test_fetch_changedsince_returns_only_changed_messages(alice: ImapTalk) -> None:
    await append(alice, 3)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX")).ok
    changed = value("MODSEQ", (await alice.command("STORE 2 +FLAGS (\\Flagged)")).text())
    reply = await alice.command(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
    assert reply.untagged == [b"* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (%d))" % changed]


async def test_uid_fetch_changedsince_vanished_reports_expunged_uids(alice: ImapTalk) -> None:
    await append(alice, 4)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("ENABLE QRESYNC")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 2 +FLAGS (\\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).untagged == [b"* VANISHED 2"]
    assert (await alice.command("STORE 3 +FLAGS (\\Seen)")).ok
    reply = await alice.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert reply.untagged[0] == b"* VANISHED (EARLIER) 2"
    assert [line.split(b" FLAGS")[0] for line in reply.untagged[1:]] == [b"* 3 FETCH (UID 4"]
    assert reply.tagged.endswith(b"OK Fetch completed.")


async def test_vanished_only_covers_the_uids_asked_for(alice: ImapTalk) -> None:
    await append(alice, 4)
    _, modseq = await mailbox_state(alice)
    assert (await alice.command("ENABLE QRESYNC")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).ok
    reply = await alice.command(f"UID FETCH 2:3 (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert reply.untagged == [b"* VANISHED (EARLIER) 3"]


async def test_vanished_without_qresync_is_refused_with_bad(alice: ImapTalk) -> None:
    await append(alice, 1)
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert reply.status == "BAD"


async def test_vanished_without_uid_is_refused_with_bad(alice: ImapTalk) -> None:
    await append(alice, 1)
    assert (await alice.command("ENABLE QRESYNC")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert reply.status == "BAD"


# -- SELECT (QRESYNC …) ---------------------------------------------------------------------


async def test_select_qresync_without_enable_is_refused_with_bad(alice: ImapTalk) -> None:
    reply = await alice.command("SELECT INBOX (QRESYNC (1 1))")
    assert reply.tagged == b"a2 BAD QRESYNC not enabled."


async def test_select_qresync_reports_expunges_and_flag_changes(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    await append(alice, 4)
    uidvalidity, modseq = await mailbox_state(alice)
    other = await login(imap_host)
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await other.command("EXPUNGE")).ok
    assert (await other.command("STORE 1 +FLAGS.SILENT (\\Answered)")).ok  # UID 2 now
    assert (await other.command("LOGOUT")).ok
    assert (await alice.command("ENABLE QRESYNC")).ok
    reply = await alice.command(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))")
    assert b"* 3 EXISTS" in reply.untagged
    start = reply.untagged.index(b"* VANISHED (EARLIER) 1")
    changes = reply.untagged[start + 1 :]
    assert len(changes) == 1
    assert re.fullmatch(rb"\* 1 FETCH \(UID 2 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)", changes[0])
    assert reply.tagged == b"a8 OK [READ-WRITE] Select completed."


async def test_select_qresync_reports_only_known_uids(alice: ImapTalk) -> None:
    # RFC 7162 §3.2.5: with known UIDs, changes of the others are not reported.
    await append(alice, 4)
    uidvalidity, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1,2 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).ok
    assert (await alice.command("STORE 1:2 +FLAGS.SILENT (\\Seen)")).ok
    assert (await alice.command("ENABLE QRESYNC")).ok
    reply = await alice.command(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} 2:3))")
    assert reply.untagged[0] == b"* OK [CLOSED] Previous mailbox closed."
    tail = reply.untagged[reply.untagged.index(b"* VANISHED (EARLIER) 2") :]
    assert len(tail) == 2
    assert tail[1].startswith(b"* 1 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (")


async def test_select_qresync_with_another_uidvalidity_reports_nothing(
    alice: ImapTalk,
) -> None:
    await append(alice, 2)
    uidvalidity, modseq = await mailbox_state(alice)
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).ok
    assert (await alice.command("ENABLE QRESYNC")).ok
    reply = await alice.command(f"SELECT INBOX (QRESYNC ({uidvalidity + 1} {modseq}))")
    assert not [line for line in reply.untagged if b"VANISHED" in line or b"FETCH" in line]
    assert reply.ok


async def test_select_qresync_accepts_sequence_match_data(alice: ImapTalk) -> None:
    await append(alice, 3)
    uidvalidity, modseq = await mailbox_state(alice)
    assert (await alice.command("ENABLE QRESYNC")).ok
    reply = await alice.command(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} 1:3 (1:3 1:3)))")
    assert reply.tagged == b"a7 OK [READ-WRITE] Select completed."


async def test_expunge_under_qresync_sends_vanished(alice: ImapTalk) -> None:
    await append(alice, 3)
    assert (await alice.command("ENABLE QRESYNC")).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)")).ok
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* VANISHED 1,3"]


async def test_another_sessions_flag_change_comes_with_modseq(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    other = await login(imap_host)
    await append(alice, 1)
    assert (await alice.command("SELECT INBOX (CONDSTORE)")).ok
    assert (await other.command("SELECT INBOX")).ok
    stored = await other.command("STORE 1 +FLAGS (\\Flagged)")
    assert stored.ok
    reply = await alice.command("NOOP")
    assert re.fullmatch(
        rb"\* 1 FETCH \(UID 1 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)", reply.untagged[0]
    )
