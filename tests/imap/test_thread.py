"""THREAD and UID THREAD over the wire (RFC 5256 REFERENCES and ORDEREDSUBJECT).

A small mailbox as a team would have it (all sent 1 March 2026, UTC):

| #  | time  | Subject               | Message-ID | In-Reply-To / References |
|----|-------|-----------------------|------------|--------------------------|
| 1  | 09:00 | Project kickoff       | k1         |                          |
| 2  | 10:00 | Re: Project kickoff   | k2         | k1 / k1                  |
| 3  | 11:00 | Lunch?                | l1         |                          |
| 4  | 12:00 | Re: Project kickoff   | k3         | k2 / k1 k2               |
| 5  | 13:00 | Fwd: Project kickoff  | f1         | (none: joins by subject) |
| 6  | 11:30 | Re: Lunch?            | l2         | l1 / l1                  |
| 7  | 08:00 | Re: Budget            | b2         | b1 (never arrived)       |
| 8  | 14:00 | [Fwd: Re: lunch?]     | l3         | l2 / l1 l2               |
| 9  | 15:00 | Re: Offsite           | o2         | o1 (never arrived)       |
| 10 | 16:00 | Re: Offsite           | o3         | o1 (never arrived)       |
"""

from __future__ import annotations

import pytest

from tests.support.imap_talk import ImapTalk


def message(
    sender: str,
    subject: str,
    time: str,
    own_id: str,
    reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> bytes:
    lines = [
        f"From: {sender}",
        "To: Team <team@example.test>",
        f"Subject: {subject}",
        f"Date: Sun, 01 Mar 2026 {time}:00 +0000",
        f"Message-ID: <{own_id}@example.test>",
    ]
    if reply_to is not None:
        lines.append(f"In-Reply-To: <{reply_to}@example.test>")
    if references:
        lines.append("References: " + " ".join(f"<{r}@example.test>" for r in references))
    return ("\r\n".join(lines) + "\r\n\r\nSee subject.\r\n").encode()


ALICE, BOB = "Alice <alice@example.test>", "Bob <bob@example.test>"
CAROL, DAVE = "Carol <carol@example.test>", "Dave <dave@example.test>"
MESSAGES = (
    message(ALICE, "Project kickoff", "09:00", "k1"),
    message(BOB, "Re: Project kickoff", "10:00", "k2", "k1", ("k1",)),
    message(CAROL, "Lunch?", "11:00", "l1"),
    message(CAROL, "Re: Project kickoff", "12:00", "k3", "k2", ("k1", "k2")),
    message(DAVE, "Fwd: Project kickoff", "13:00", "f1"),
    message(ALICE, "Re: Lunch?", "11:30", "l2", "l1", ("l1",)),
    message(BOB, "Re: Budget", "08:00", "b2", "b1", ("b1",)),
    message(BOB, "[Fwd: Re: lunch?]", "14:00", "l3", "l2", ("l1", "l2")),
    message(DAVE, "Re: Offsite", "15:00", "o2", "o1", ("o1",)),
    message(CAROL, "Re: Offsite", "16:00", "o3", "o1", ("o1",)),
)


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with the ten messages in INBOX, selected."""
    for data in MESSAGES:
        assert (await alice.append("INBOX", data)).ok
    assert (await alice.command("SELECT INBOX")).ok
    return alice


async def thread(talk: ImapTalk, command: str) -> bytes:
    """The one untagged line of a THREAD that must succeed."""
    reply = await talk.command(command)
    assert reply.tagged.endswith(b" OK Thread completed."), reply.tagged
    (line,) = reply.untagged
    return line


async def test_references_threads_replies_under_what_they_answer(alice: ImapTalk) -> None:
    # 7 alone (its parent never came), the kickoff with the reply chain 2-4 and the
    # forward 5 (joined by subject), lunch as a chain, and the two offsite replies
    # under a parent nobody has, threads in order of their first message's date.
    assert await thread(alice, "THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD (7)(1 (2 4)(5))(3 6 8)((9)(10))"
    )


async def test_orderedsubject_groups_by_base_subject_one_level_deep(alice: ImapTalk) -> None:
    assert await thread(alice, "THREAD ORDEREDSUBJECT UTF-8 ALL") == (
        b"* THREAD (7)(1 (2)(4)(5))(3 (6)(8))(9 10)"
    )


async def test_thread_threads_only_what_the_search_keys_find(alice: ImapTalk) -> None:
    assert await thread(alice, "THREAD REFERENCES UTF-8 SUBJECT lunch") == (b"* THREAD (3 6 8)")


async def test_a_reply_without_its_parent_in_the_search_stands_alone(alice: ImapTalk) -> None:
    assert await thread(alice, "THREAD REFERENCES UTF-8 FROM carol") == (b"* THREAD (3)(4)(10)")


async def test_thread_of_nothing_is_an_empty_thread(alice: ImapTalk) -> None:
    # Dovecot writes the space after THREAD even with no threads to follow.
    assert await thread(alice, "THREAD REFERENCES UTF-8 DRAFT") == b"* THREAD "


async def test_uid_thread_answers_uids(alice: ImapTalk) -> None:
    await alice.command(r"STORE 7 +FLAGS.SILENT (\Deleted)")
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* 7 EXPUNGE"]
    assert await thread(alice, "UID THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD (1 (2 4)(5))(3 6 8)((9)(10))"
    )
    assert await thread(alice, "THREAD REFERENCES UTF-8 ALL") == (
        b"* THREAD (1 (2 4)(5))(3 6 7)((8)(9))"
    )


async def test_thread_with_an_unknown_algorithm_is_bad(alice: ImapTalk) -> None:
    reply = await alice.command("THREAD JWZ UTF-8 ALL")
    assert reply.status == "BAD"


async def test_thread_with_an_unknown_charset_is_no_badcharset(alice: ImapTalk) -> None:
    reply = await alice.command("THREAD REFERENCES KOI8-R ALL")
    assert reply.untagged == []
    assert b" NO [BADCHARSET (US-ASCII UTF-8)] " in reply.tagged
