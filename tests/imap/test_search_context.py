"""CONTEXT=SEARCH (RFC 5267 §4): SEARCH RETURN (UPDATE) keeps the client told with
`ESEARCH … ADDTO / REMOVEFROM` until CANCELUPDATE or the mailbox is left; PARTIAL
answers a window of the result; CONTEXT is a hint. The conversations follow the
strict tester's (imaptest's search-context-update*, search-partial) and Dovecot's
answers: position 0 for SEARCH results, REMOVEFROM before the EXPUNGE it is about.

Six messages, subjects "s1" … "s6", none \\Seen at the start."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.imap_talk import ImapReply, ImapTalk, login
from tests.support.mail_host import MailHost


def message(number: int) -> bytes:
    return f"From: bob@example.test\r\nSubject: s{number}\r\n\r\nBody {number}.\r\n".encode()


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    for number in range(1, 7):
        assert (await alice.append("INBOX", message(number))).ok
    assert (await alice.command("SELECT INBOX")).ok
    return alice


async def tagged(talk: ImapTalk, command: str) -> tuple[str, ImapReply]:
    """Send `command` under a fresh tag; the tag and the reply."""
    tag = talk.next_tag()
    await talk.send(f"{tag} {command}\r\n".encode())
    return tag, await talk.reply(tag)


def updates(reply: ImapReply, tag: str) -> list[str]:
    """The ESEARCH lines of context `tag` in a reply, `(TAG "x")` made `(TAG _)`."""
    head = f'ESEARCH (TAG "{tag}")'
    return [line.replace(head, "ESEARCH (TAG _)") for line in reply.lines(head)]


async def test_context_search_is_offered(alice: ImapTalk) -> None:
    reply = await alice.command("CAPABILITY")
    assert b" CONTEXT=SEARCH" in reply.untagged[0]


async def test_update_follows_flags_and_expunges_until_cancelled(alice: ImapTalk) -> None:
    tag, reply = await tagged(alice, "SEARCH RETURN (UPDATE) BODY body SEEN")
    assert reply.ok and updates(reply, tag) == ["ESEARCH (TAG _)"]

    reply = await alice.command(r"STORE 1,2,5 +FLAGS (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) ADDTO (0 1:2,5)"]
    # The ADDTO comes after the FETCH responses that caused it.
    assert reply.untagged[-1].startswith(b"* ESEARCH")

    reply = await alice.command(r"STORE 1,2 -FLAGS (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) REMOVEFROM (0 1:2)"]

    assert (await alice.command(r"STORE 3:6 +FLAGS.SILENT (\Deleted)")).ok
    reply = await alice.command("EXPUNGE")
    # RFC 5267 §4.3.4: before the EXPUNGE, while 5 still names the message.
    assert [line for line in reply.untagged if b"EXPUNGE" in line or b"ESEARCH" in line] == [
        f'* ESEARCH (TAG "{tag}") REMOVEFROM (0 5)'.encode(),
        b"* 6 EXPUNGE",
        b"* 5 EXPUNGE",
        b"* 4 EXPUNGE",
        b"* 3 EXPUNGE",
    ]

    reply = await alice.command(f'CANCELUPDATE "{tag}"')
    assert reply.tagged.endswith(b" OK Updates cancelled.")
    reply = await alice.command(r"STORE 1 +FLAGS (\Seen)")
    assert updates(reply, tag) == []


async def test_uid_context_with_all(alice: ImapTalk) -> None:
    assert (await alice.command(r"STORE 1,2 +FLAGS.SILENT (\Seen)")).ok
    tag, reply = await tagged(alice, "UID SEARCH RETURN (UPDATE ALL) OR SEEN SUBJECT s3")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID ALL 1:3"]
    reply = await alice.command(r"STORE 4:5 +FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID ADDTO (0 4:5)"]
    reply = await alice.command(r"STORE 1:5 -FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID REMOVEFROM (0 1:2,4:5)"]


async def test_another_sessions_changes_and_a_new_message(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    tag, reply = await tagged(alice, "UID SEARCH RETURN (UPDATE COUNT) FLAGGED")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID COUNT 0"]
    other = await login(imap_host)
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command(r"STORE 2 +FLAGS.SILENT (\Flagged)")).ok
    assert (await other.append("INBOX", message(7), r"(\Flagged)")).ok
    await other.close()
    reply = await alice.command("NOOP")
    lines = [line for line in reply.untagged if not line.endswith(b"RECENT")]
    # The ADDTO names the new message after its EXISTS.
    assert lines[0].startswith(b"* 2 FETCH (UID 2 FLAGS (\\Flagged")
    assert lines[1:] == [b"* 7 EXISTS", f'* ESEARCH (TAG "{tag}") UID ADDTO (0 2,7)'.encode()]


async def test_updates_reach_a_session_in_idle(alice: ImapTalk, imap_host: MailHost) -> None:
    tag, reply = await tagged(alice, "SEARCH RETURN (UPDATE) DELETED")
    assert reply.ok
    await alice.send(b"i1 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    other = await login(imap_host)
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command(r"STORE 3 +FLAGS.SILENT (\Deleted)")).ok
    fetch, addto = [await asyncio.wait_for(alice.read_response(), 10) for _ in range(2)]
    assert fetch.startswith(b"* 3 FETCH (UID 3 FLAGS (\\Deleted")
    assert addto == f'* ESEARCH (TAG "{tag}") ADDTO (0 3)'.encode()
    assert (await other.command("EXPUNGE")).ok
    await other.close()
    assert [await asyncio.wait_for(alice.read_response(), 10) for _ in range(2)] == [
        f'* ESEARCH (TAG "{tag}") REMOVEFROM (0 3)'.encode(),
        b"* 3 EXPUNGE",
    ]
    await alice.send(b"DONE\r\n")
    assert (await alice.reply("i1")).ok


async def test_sequence_numbers_in_the_keys_are_fixed_when_the_search_is_given(
    alice: ImapTalk,
) -> None:
    # RFC 5267 §4.3: `1:2` names the messages that were 1 and 2 at the time.
    tag, _ = await tagged(alice, "UID SEARCH RETURN (UPDATE) 1:2 SEEN")
    assert (await alice.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).ok
    reply = await alice.command(r"STORE 1:2 +FLAGS.SILENT (\Seen)")
    # Message 1 is now UID 2 (in the context); message 2 is UID 3 (not in it).
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID ADDTO (0 2)"]


async def test_a_context_ends_with_the_mailbox(alice: ImapTalk) -> None:
    tag, _ = await tagged(alice, "SEARCH RETURN (UPDATE) SEEN")
    assert (await alice.command("UNSELECT")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command(r"STORE 1 +FLAGS (\Seen)")
    assert updates(reply, tag) == []
    reply = await alice.command(f'CANCELUPDATE "{tag}"')
    assert reply.tagged.endswith(b" NO Unknown tag.")


async def test_a_tag_in_use_by_a_context_is_bad(alice: ImapTalk) -> None:
    await alice.send(b"t1 SEARCH RETURN (UPDATE) SEEN\r\n")
    assert (await alice.reply("t1")).ok
    await alice.send(b"t1 SEARCH RETURN (UPDATE COUNT) FLAGGED\r\n")
    reply = await alice.reply("t1")
    assert reply.status == "BAD" and reply.untagged == []
    await alice.send(b"t1 SEARCH RETURN (COUNT) FLAGGED\r\n")  # no UPDATE: no conflict
    assert (await alice.reply("t1")).ok


async def test_the_eleventh_context_is_refused_with_noupdate(alice: ImapTalk) -> None:
    for _ in range(10):
        _, reply = await tagged(alice, "SEARCH RETURN (UPDATE) SEEN")
        assert reply.ok and not reply.lines("NO")
    tag, reply = await tagged(alice, "SEARCH RETURN (UPDATE COUNT) SEEN")
    # RFC 5267 §4.3.1: the other return options are still answered.
    assert updates(reply, tag) == ["ESEARCH (TAG _) COUNT 0"]
    assert reply.lines("NO") == [f'NO [NOUPDATE "{tag}"] Too many updating contexts']
    assert reply.ok
    reply = await alice.command(r"STORE 1 +FLAGS (\Seen)")
    assert len(reply.lines("ESEARCH")) == 10 and updates(reply, tag) == []


async def test_a_search_that_changes_with_the_clock_is_not_updated(alice: ImapTalk) -> None:
    tag, reply = await tagged(alice, "SEARCH RETURN (UPDATE) OLDER 3600")
    assert reply.lines("NO") == [f'NO [NOUPDATE "{tag}"] Cannot update this search']
    assert reply.ok


async def test_a_sort_context_names_positions_in_its_order(alice: ImapTalk) -> None:
    # RFC 5267 §4.3.3–4: ADDTO and REMOVEFROM carry the positions in the sort order.
    tag, reply = await tagged(alice, "SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 SEEN")
    assert updates(reply, tag) == ["ESEARCH (TAG _)"]
    reply = await alice.command(r"STORE 2,4:5 +FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) ADDTO (1 5,4,2)"]  # s5 s4 s2
    reply = await alice.command(r"STORE 3 +FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) ADDTO (3 3)"]  # s5 s4 s3 s2
    reply = await alice.command(r"STORE 4 -FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) REMOVEFROM (2 4)"]  # s5 s3 s2
    # Two runs: the later one first, so that the earlier position is still right.
    reply = await alice.command(r"STORE 2,5 -FLAGS.SILENT (\Seen)")
    assert updates(reply, tag) == ["ESEARCH (TAG _) REMOVEFROM (3 2 1 5)"]  # s3
    assert (await alice.command(r"STORE 1:2 +FLAGS.SILENT (\Deleted)")).ok
    reply = await alice.command("EXPUNGE")
    assert updates(reply, tag) == []
    reply = await alice.command(r"STORE 2 +FLAGS.SILENT (\Seen)")  # s4, now number 2
    assert updates(reply, tag) == ["ESEARCH (TAG _) ADDTO (1 2)"]  # s4 s3
    assert (await alice.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")).ok  # s3
    reply = await alice.command("EXPUNGE")
    lines = [line for line in reply.untagged if b"EXPUNGE" in line or b"ESEARCH" in line]
    assert lines == [f'* ESEARCH (TAG "{tag}") REMOVEFROM (2 1)'.encode(), b"* 1 EXPUNGE"]


async def test_a_uid_sort_context_with_removals_and_additions_at_once(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command(r"STORE 1,3 +FLAGS.SILENT ($a)")).ok
    tag, reply = await tagged(alice, "UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 KEYWORD $a")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID ALL 1,3"]
    other = await login(imap_host)
    assert (await other.command("SELECT INBOX")).ok
    assert (await other.command(r"STORE 1 -FLAGS.SILENT ($a)")).ok
    assert (await other.command(r"STORE 2 +FLAGS.SILENT ($a)")).ok
    message_0 = b"From: bob@example.test\r\nSubject: s0\r\n\r\nFirst in order.\r\n"
    assert (await other.append("INBOX", message_0, "($a)")).ok
    await other.close()
    reply = await alice.command("NOOP")
    # [1, 3] less 1 is [3]; then s0 (UID 7) and s2 (UID 2) join: [7, 2, 3].
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID REMOVEFROM (1 1) ADDTO (1 7,2)"]
    assert reply.untagged[-1].startswith(b"* ESEARCH")  # after the EXISTS


@pytest.mark.parametrize(
    "arguments", ["", '"a1" x', "a1", '"a1" {2}\r\nab'], ids=["none", "atom", "bare", "literal"]
)
async def test_cancelupdate_takes_quoted_tags_only(alice: ImapTalk, arguments: str) -> None:
    tag = alice.next_tag()
    await alice.send(f"{tag} CANCELUPDATE {arguments}\r\n".encode())
    reply = await alice.reply(tag)
    assert reply.status == "BAD"


async def test_cancelupdate_needs_a_selected_mailbox(imap_host: MailHost) -> None:
    talk = await login(imap_host)
    reply = await talk.command('CANCELUPDATE "a1"')
    assert reply.tagged.endswith(b" BAD No mailbox selected.")
    await talk.close()


# -- PARTIAL (RFC 5267 §4.4) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "answer"),
    [
        ("1:1", "1:1 1"),
        ("2:4", "2:4 2:4"),
        ("4:2", "2:4 2:4"),
        ("1:9", "1:9 1:6"),
        ("7:9", "7:9 NIL"),
    ],
)
async def test_partial_answers_a_window(alice: ImapTalk, window: str, answer: str) -> None:
    tag, reply = await tagged(alice, f"SEARCH RETURN (PARTIAL {window}) ALL")
    assert updates(reply, tag) == [f"ESEARCH (TAG _) PARTIAL ({answer})"]


async def test_partial_with_count_and_uid(alice: ImapTalk) -> None:
    assert (await alice.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")).ok
    assert (await alice.command("EXPUNGE")).ok
    tag, reply = await tagged(alice, "UID SEARCH RETURN (COUNT PARTIAL 2:3 MIN) ALL")
    assert updates(reply, tag) == ["ESEARCH (TAG _) UID MIN 2 PARTIAL (2:3 3:4) COUNT 5"]


async def test_sort_partial_keeps_the_sort_order(alice: ImapTalk) -> None:
    tag, reply = await tagged(alice, "SORT RETURN (PARTIAL 2:4) (REVERSE SUBJECT) UTF-8 ALL")
    assert updates(reply, tag) == ["ESEARCH (TAG _) PARTIAL (2:4 5,4,3)"]
    # As imaptest's sort-partial writes it: RETURN after the charset.
    tag, reply = await tagged(alice, "SORT (REVERSE SUBJECT) us-ascii RETURN (PARTIAL 5:9) ALL")
    assert updates(reply, tag) == ["ESEARCH (TAG _) PARTIAL (5:9 2,1)"]


@pytest.mark.parametrize(
    "options", ["PARTIAL 1:*", "PARTIAL -1:-10", "PARTIAL 1:2 ALL", "UPDATE UPDATE"]
)
async def test_bad_return_options(alice: ImapTalk, options: str) -> None:
    # More cases in test_parser_context.py.
    reply = await alice.command(f"SEARCH RETURN ({options}) ALL")
    assert reply.status == "BAD", reply.tagged
    assert reply.untagged == []


async def test_context_is_a_hint_meaning_all(alice: ImapTalk) -> None:
    tag, reply = await tagged(alice, "SEARCH RETURN (CONTEXT) 2:3")
    assert updates(reply, tag) == ["ESEARCH (TAG _) ALL 2:3"]
    tag, reply = await tagged(alice, "SEARCH RETURN (CONTEXT COUNT) 2:3")
    assert updates(reply, tag) == ["ESEARCH (TAG _) COUNT 2"]
