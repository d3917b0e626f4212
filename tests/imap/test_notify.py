"""NOTIFY (RFC 5465): Alice asks to hear of events, and another of her sessions makes them.

Notifications come without a command (between commands and in IDLE), so a test reads
what the server says on its own: `alice.read_response()` with no command sent. Where a
test shows that something was *not* said, a later event that must be said is made,
and the first line that comes is checked to be that one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.support.imap_messages import append_many, message
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

SUPPORTED = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"


@pytest.fixture
async def other(imap_host: MailHost) -> AsyncIterator[ImapTalk]:
    """A second session of Alice's, the one that changes things."""
    talk = await login(imap_host)
    yield talk
    await talk.close()


async def ok(talk: ImapTalk, command: str) -> list[bytes]:
    reply = await talk.command(command)
    assert reply.ok, reply.tagged
    return reply.untagged


async def selecting(alice: ImapTalk, other: ImapTalk, notify: str, messages: int = 2) -> None:
    """`messages` in INBOX, Alice's session in it with NOTIFY SET `notify`, the other too."""
    await append_many(other, "INBOX", range(1, messages + 1))
    await ok(alice, "SELECT INBOX")
    await ok(alice, f"NOTIFY SET {notify}")
    await ok(other, "SELECT INBOX")


def uidvalidity(untagged: list[bytes]) -> int:
    found = re.search(rb"UIDVALIDITY (\d+)", b"\n".join(untagged))
    assert found is not None
    return int(found.group(1))


# -- offered, and refused ---------------------------------------------------------------------


async def test_notify_is_offered_after_login(alice: ImapTalk) -> None:
    reply = await alice.command("CAPABILITY")
    assert " NOTIFY" in reply.lines("CAPABILITY")[0]


async def test_an_unsupported_event_is_no_with_badevent_listing_the_supported_ones(
    alice: ImapTalk,
) -> None:
    for event in ("AnnotationChange", "MailboxMetadataChange", "NoSuchEvent"):
        events = "MessageNew MessageExpunge " + event if event == "AnnotationChange" else event
        reply = await alice.command(f"NOTIFY SET (personal ({events}))")
        expected = f" NO [BADEVENT ({SUPPORTED})] Unsupported NOTIFY events."
        assert reply.tagged.endswith(expected.encode()), reply.tagged


MALFORMED = [
    "SET",
    "SET STATUS",
    "SET ()",
    "BOGUS",
    "NONE STATUS",
    "SET (personal MessageNew)",
    "SET (personal ())",
    "SET (nowhere (MessageNew MessageExpunge))",
    # RFC 5465 §5: MessageNew and MessageExpunge together; FlagChange needs both.
    "SET (personal (MessageNew))",
    "SET (selected (MessageExpunge))",
    "SET (selected (FlagChange))",
    "SET (personal (FlagChange MessageNew))",
    # §6.1: one selected filter, and only message events with it.
    "SET (selected NONE) (selected-delayed NONE)",
    "SET (selected (MailboxName))",
    # §8: fetch attributes only on MessageNew of a selected filter; and (ours, as
    # §5.2 advises) none that sets \Seen or needs a body part.
    "SET (personal (MessageNew (UID) MessageExpunge))",
    "SET (selected (MessageNew (BODY[]) MessageExpunge))",
    "SET (selected (MessageNew (BODY.PEEK[1]) MessageExpunge))",
]


async def test_malformed_notify_is_bad(alice: ImapTalk) -> None:
    for arguments in MALFORMED:
        reply = await alice.command(f"NOTIFY {arguments}")
        assert reply.status == "BAD", (arguments, reply.tagged)
        assert b"Unknown command" not in reply.tagged  # NOTIFY is known; these arguments not


async def test_too_many_mailbox_names_is_notificationoverflow(alice: ImapTalk) -> None:
    names = " ".join(f"box{n}" for n in range(101))
    reply = await alice.command(f"NOTIFY SET (mailboxes ({names}) (MessageNew MessageExpunge))")
    assert reply.status == "NO" and b" [NOTIFICATIONOVERFLOW] " in reply.tagged


async def test_notify_none_is_ok(alice: ImapTalk) -> None:
    assert (await alice.command("NOTIFY NONE")).ok


# -- the selected mailbox ------------------------------------------------------------------


async def test_selected_message_new_comes_between_commands_with_its_fetch_attributes(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "SELECT INBOX")
    await ok(
        alice,
        "NOTIFY SET (selected (MessageNew (UID ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)])"
        " MessageExpunge FlagChange))",
    )
    await append_many(other, "INBOX", range(1, 2))
    assert await alice.read_response() == b"* 1 EXISTS"
    assert await alice.read_response() == b"* 1 RECENT"
    fetch = await alice.read_response()
    assert fetch.startswith(b"* 1 FETCH (UID 1 ENVELOPE (")
    assert b'"message 1"' in fetch
    assert fetch.endswith(b"BODY[HEADER.FIELDS (Subject)] {22}\r\nSubject: message 1\r\n\r\n)")


async def test_selected_flag_changes_and_expunges_come_between_commands(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await selecting(alice, other, "(selected (MessageNew MessageExpunge FlagChange))")
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Flagged)")
    assert await alice.read_response() == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Deleted)")
    await ok(other, "EXPUNGE")
    # RFC 5465 §5.3: with SELECTED the expunge is told at once (the client uses UIDs).
    lines = [await alice.read_response() for _ in range(2)]
    assert lines == [b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted \\Recent))", b"* 1 EXPUNGE"]


async def test_without_flagchange_the_selected_mailbox_flag_changes_are_not_told(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await selecting(alice, other, "(selected (MessageNew MessageExpunge))", messages=1)
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Flagged)")
    await append_many(other, "INBOX", range(2, 3))
    # The first thing Alice hears is the new message, not the flag.
    assert await alice.read_response() == b"* 2 EXISTS"
    assert (await alice.command("NOOP")).lines("1 FETCH") == []


async def test_selected_delayed_holds_expunges_until_a_command(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await selecting(alice, other, "(selected-delayed (MessageNew MessageExpunge))")
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Deleted)")
    await ok(other, "EXPUNGE")
    await append_many(other, "INBOX", range(3, 4))
    # RFC 5465 §6.1.2: the expunge waits; the new message does not (3 = 2 known + 1).
    assert await alice.read_response() == b"* 3 EXISTS"
    assert (await alice.read_response()).endswith(b" RECENT")
    reply = await alice.command("NOOP")
    assert reply.untagged == [b"* 1 EXPUNGE"]


async def test_selected_delayed_tells_expunges_in_idle(alice: ImapTalk, other: ImapTalk) -> None:
    await selecting(alice, other, "(selected-delayed (MessageNew MessageExpunge))")
    await alice.send(b"i1 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    await ok(other, "STORE 2 +FLAGS.SILENT (\\Deleted)")
    await ok(other, "EXPUNGE")
    assert await alice.read_response() == b"* 2 EXPUNGE"
    await alice.send(b"DONE\r\n")
    assert (await alice.reply("i1")).ok


async def test_without_a_selected_group_the_selected_mailbox_is_held_until_notify_asks(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "SELECT INBOX")
    await ok(alice, "NOTIFY SET (personal (MailboxName))")
    await append_many(other, "INBOX", range(1, 2))
    # RFC 5465 §3.1: no SELECTED group is SELECTED NONE: not even NOOP tells of it.
    assert await alice.command("NOOP") is not None
    reply = await alice.command("FETCH 1:* (UID)")
    assert reply.status == "BAD"  # the client knows of no message yet
    # A NOTIFY SET that asks for them is an implicit NOOP (§3.1).
    untagged = await ok(alice, "NOTIFY SET (selected (MessageNew MessageExpunge))")
    assert untagged[:1] == [b"* 1 EXISTS"]


async def test_own_expunge_is_answered_even_when_notify_holds_the_selected_mailbox(
    alice: ImapTalk,
) -> None:
    await append_many(alice, "INBOX", range(1, 3))
    await ok(alice, "SELECT INBOX")
    await ok(alice, "NOTIFY NONE")
    await ok(alice, "STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await ok(alice, "EXPUNGE") == [b"* 1 EXPUNGE"]


# -- other mailboxes: STATUS ---------------------------------------------------------------


async def test_a_new_message_in_another_mailbox_gives_status_between_commands(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    validity = uidvalidity(await ok(alice, "STATUS Lists (UIDVALIDITY)"))
    await ok(alice, "NOTIFY SET (personal (MessageNew MessageExpunge))")
    await append_many(other, "Lists", range(1, 2))
    line = f'* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {validity} UNSEEN 1)'
    assert await alice.read_response() == line.encode()
    await ok(other, "SELECT Lists")
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Deleted)")
    await ok(other, "EXPUNGE")
    line = f'* STATUS "Lists" (MESSAGES 0 UIDNEXT 2 UIDVALIDITY {validity} UNSEEN 0)'
    assert await alice.read_response() == line.encode()


async def test_notify_set_status_sends_each_watched_mailbox_status_first(
    alice: ImapTalk,
) -> None:
    await ok(alice, "CREATE Lists")
    await append_many(alice, "Lists", range(1, 3))
    await ok(alice, "SELECT INBOX")
    untagged = await ok(
        alice, "NOTIFY SET STATUS (mailboxes (Lists INBOX Nowhere) (MessageNew MessageExpunge))"
    )
    # The selected INBOX and the missing Nowhere get none (as Dovecot).
    validity = uidvalidity(untagged)
    assert untagged == [
        f'* STATUS "Lists" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY {validity} UNSEEN 2)'.encode()
    ]


async def test_flag_changes_elsewhere_are_told_only_with_flagchange(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    await append_many(alice, "Lists", range(1, 2))
    await ok(alice, "NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge))")
    await ok(other, "SELECT Lists")
    await ok(other, "STORE 1 +FLAGS.SILENT (\\Seen)")
    await append_many(other, "Lists", range(2, 3))
    # The first STATUS is the new message's: the \Seen alone was not told.
    assert b"(MESSAGES 2 UIDNEXT 3 " in await alice.read_response()
    await ok(alice, "NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge FlagChange))")
    await ok(other, "STORE 2 +FLAGS.SILENT (\\Seen)")
    assert (await alice.read_response()).endswith(b" UNSEEN 0)")


async def test_with_condstore_status_notifications_carry_highestmodseq(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "ENABLE CONDSTORE")
    await ok(alice, "NOTIFY SET (subtree Lists (MessageNew MessageExpunge))")
    await append_many(other, "Lists", range(1, 2))
    assert re.fullmatch(
        rb'\* STATUS "Lists" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)',
        await alice.read_response(),
    )


async def test_mailboxes_outside_the_groups_are_not_told(alice: ImapTalk, other: ImapTalk) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "CREATE Lists.Sub")
    await ok(alice, "CREATE Work")
    await ok(alice, "NOTIFY SET (subtree Lists (MessageNew MessageExpunge))")
    await append_many(other, "Work", range(1, 2))
    await append_many(other, "Lists.Sub", range(1, 2))
    assert (await alice.read_response()).startswith(b'* STATUS "Lists.Sub" (MESSAGES 1 ')


async def test_idle_tells_exactly_the_notify_events(alice: ImapTalk, other: ImapTalk) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge))")
    await alice.send(b"i1 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    await append_many(other, "Lists", range(1, 2))
    assert (await alice.read_response()).startswith(b'* STATUS "Lists" (MESSAGES 1 ')
    await alice.send(b"DONE\r\n")
    assert (await alice.reply("i1")).ok


# -- other mailboxes: LIST -------------------------------------------------------------------


async def test_mailbox_name_events_are_list_responses(alice: ImapTalk, other: ImapTalk) -> None:
    await ok(alice, "NOTIFY SET (personal (MailboxName))")
    await ok(other, "CREATE Lists")
    assert await alice.read_response() == b'* LIST (\\HasNoChildren) "." "Lists"'
    await ok(other, "RENAME Lists Letters")
    # RFC 5465 §5.4: the new name, with the old one as OLDNAME.
    assert (
        await alice.read_response()
        == b'* LIST (\\HasNoChildren) "." "Letters" ("OLDNAME" ("Lists"))'
    )
    await ok(other, "DELETE Letters")
    assert await alice.read_response() == b'* LIST (\\NonExistent) "." "Letters"'


async def test_a_renamed_subscribed_mailbox_is_listed_subscribed(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "SUBSCRIBE Lists")
    await ok(alice, "NOTIFY SET (personal (MailboxName))")
    await ok(other, "RENAME Lists Letters")
    assert await alice.read_response() == (
        b'* LIST (\\HasNoChildren \\Subscribed) "." "Letters" ("OLDNAME" ("Lists"))'
    )


async def test_subscription_changes_are_list_responses_with_subscribed(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "NOTIFY SET (personal (SubscriptionChange))")
    await ok(other, "SUBSCRIBE Lists")
    assert await alice.read_response() == b'* LIST (\\HasNoChildren \\Subscribed) "." "Lists"'
    await ok(other, "UNSUBSCRIBE Lists")
    assert await alice.read_response() == b'* LIST (\\HasNoChildren) "." "Lists"'
    await ok(other, "SUBSCRIBE Nowhere")
    assert await alice.read_response() == b'* LIST (\\NonExistent \\Subscribed) "." "Nowhere"'


async def test_the_subscribed_filter_follows_the_subscriptions(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "CREATE Lists")
    await ok(alice, "CREATE Work")
    await ok(alice, "NOTIFY SET (subscribed (MessageNew MessageExpunge SubscriptionChange))")
    await append_many(other, "Lists", range(1, 2))  # not subscribed: not told
    await ok(other, "SUBSCRIBE Work")
    assert await alice.read_response() == b'* LIST (\\HasNoChildren \\Subscribed) "." "Work"'
    await append_many(other, "Work", range(1, 2))
    assert (await alice.read_response()).startswith(b'* STATUS "Work" (MESSAGES 1 ')


async def test_a_sessions_own_mailbox_changes_are_not_told_to_it(alice: ImapTalk) -> None:
    await ok(alice, "NOTIFY SET (personal (MailboxName SubscriptionChange))")
    # RFC 5465 §5: the server SHOULD omit what the client caused itself.
    assert await ok(alice, "CREATE Lists") == []
    assert await ok(alice, "SUBSCRIBE Lists") == []


# -- overflow ------------------------------------------------------------------------------


async def test_too_many_queued_notifications_end_notify_with_notificationoverflow(
    alice: ImapTalk, other: ImapTalk
) -> None:
    await ok(alice, "NOTIFY SET (personal (SubscriptionChange))")
    # Alice's session waits for a literal, so it tells nothing while Bob's changes pile up.
    data = message(1)
    await alice.send(f"a99 APPEND INBOX {{{len(data)}}}\r\n".encode())
    assert (await alice.read_response()).startswith(b"+ ")
    tags = []
    for number in range(501):
        tag = other.next_tag()
        tags.append(tag)
        other.writer.write(f"{tag} SUBSCRIBE box{number}\r\n".encode())
    await other.writer.drain()
    for tag in tags:
        assert (await other.reply(tag)).ok
    await alice.send(data + b"\r\n")
    reply = await alice.reply("a99")
    assert reply.ok
    # RFC 5465 §5.8: told once, and then as after NOTIFY NONE.
    assert reply.untagged == [
        b"* OK [NOTIFICATIONOVERFLOW] Too many notifications; NOTIFY is now off."
    ]
    await ok(other, "SUBSCRIBE one-more")
    assert await ok(alice, "NOOP") == []
