"""Several sessions and deliveries on one mailbox: IDLE woken by an SMTP delivery,
and each session told of the others' changes (RFC 2177; RFC 9051 §7.4.1, §7.5.1)."""

from __future__ import annotations

import asyncio

import aiosmtplib

from tests.support.imap_messages import append_many
from tests.support.imap_talk import ImapReply, ImapTalk, login
from tests.support.mail_host import MailHost

MESSAGE = b"From: Carol <carol@outside.example>\r\nSubject: hello\r\n\r\nHi there.\r\n"


async def smtp_send(host: MailHost, recipient: str) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=host.port("smtp"), start_tls=False)
    await client.connect()
    try:
        await client.sendmail("carol@outside.example", [recipient], MESSAGE)
    finally:
        await client.quit()


async def test_idle_is_woken_by_an_smtp_delivery(alice: ImapTalk, imap_host: MailHost) -> None:
    # imap_host's poll is off: only the delivery's own notification can wake the session.
    assert (await alice.command("SELECT INBOX")).ok
    await alice.send(b"a9 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    await smtp_send(imap_host, "alice@example.test")
    assert await asyncio.wait_for(alice.read_response(), 30) == b"* 1 EXISTS"
    assert await alice.read_response() == b"* 1 RECENT"
    await alice.send(b"DONE\r\n")
    reply = await alice.reply("a9")
    assert reply.tagged == b"a9 OK Idle completed."
    reply = await alice.command("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"FLAGS (\\Recent)" in reply.untagged[0]
    assert b"Subject: hello" in reply.untagged[0]


async def test_idle_must_end_with_done(alice: ImapTalk) -> None:
    await alice.send(b"a1 IDLE\r\n")
    assert await alice.read_response() == b"+ idling"
    await alice.send(b"NOT DONE\r\n")
    reply = await alice.reply("a1")
    assert reply.status == "BAD"
    assert (await alice.command("NOOP")).ok


async def test_two_sessions_see_each_others_changes(imap_host: MailHost) -> None:
    first = await login(imap_host)
    second = await login(imap_host)
    await append_many(first, "INBOX", range(1, 4))
    assert (await first.command("SELECT INBOX")).ok
    reply = await second.command("SELECT INBOX")
    assert b"* 3 EXISTS" in reply.untagged

    reply = await first.command("STORE 2 +FLAGS (\\Deleted)")
    # The first to select saw the new messages: \Recent is its own (RFC 3501 §2.3.2).
    assert reply.lines("2 FETCH") == ["2 FETCH (FLAGS (\\Deleted \\Recent))"]
    reply = await second.command("NOOP")
    assert reply.lines("2 FETCH") == ["2 FETCH (UID 2 FLAGS (\\Deleted))"]

    assert (await first.command("EXPUNGE")).lines("2 EXPUNGE") == ["2 EXPUNGE"]
    await append_many(first, "INBOX", range(4, 5))
    reply = await second.command("NOOP")
    assert reply.untagged == [b"* 2 EXPUNGE", b"* 3 EXISTS", b"* 0 RECENT"]
    reply = await second.command("FETCH 1:* (UID)")
    assert reply.lines("") == ["1 FETCH (UID 1)", "2 FETCH (UID 3)", "3 FETCH (UID 4)"]
    await first.close()
    await second.close()


def fetches(reply: ImapReply) -> list[str]:
    return [line for line in reply.lines("") if " FETCH " in line]


async def test_a_store_reports_another_sessions_change_made_just_before_it(
    imap_host: MailHost,
) -> None:
    first = await login(imap_host)
    second = await login(imap_host)
    await append_many(first, "INBOX", range(1, 4))
    assert (await first.command("SELECT INBOX")).ok
    assert (await second.command("SELECT INBOX")).ok

    assert (await second.command("STORE 1 +FLAGS.SILENT (\\Flagged)")).ok
    # The first session's own change comes right after the second's: its STORE answers
    # for message 3 and tells of message 1 too, once.
    reply = await first.command("STORE 3 +FLAGS.SILENT (\\Seen)")
    assert fetches(reply) == ["1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"]
    assert fetches(await first.command("NOOP")) == []

    # Nothing changed in between: its own silent change is not echoed (RFC 9051 §6.4.6).
    reply = await first.command("STORE 2 +FLAGS.SILENT (\\Answered)")
    assert fetches(reply) == []
    assert fetches(await first.command("NOOP")) == []
    reply = await second.command("NOOP")
    assert sorted(fetches(reply)) == [
        "2 FETCH (UID 2 FLAGS (\\Answered))",
        "3 FETCH (UID 3 FLAGS (\\Seen))",
    ]
    await first.close()
    await second.close()


async def test_expunges_wait_while_a_fetch_by_number_runs(imap_host: MailHost) -> None:
    first = await login(imap_host)
    second = await login(imap_host)
    await append_many(first, "INBOX", range(1, 4))
    assert (await first.command("SELECT INBOX")).ok
    assert (await second.command("SELECT INBOX")).ok
    assert (await first.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await first.command("EXPUNGE")).ok
    reply = await second.command("FETCH 1:* (UID)")
    # Numbers must not shift under FETCH: the expunged message is not reported here…
    assert not [line for line in reply.untagged if line.endswith(b"EXPUNGE")]
    reply = await second.command("UID FETCH 1:* (UID)")
    # …but a UID command may report it.
    assert b"* 1 EXPUNGE" in reply.untagged
    await first.close()
    await second.close()


async def test_a_stopping_server_says_bye_to_a_session_in_idle_at_once(
    imap_host: MailHost,
) -> None:
    talk = await login(imap_host)
    assert (await talk.command("SELECT INBOX")).ok
    await talk.send(b"a9 IDLE\r\n")
    assert await talk.read_response() == b"+ idling"
    (server,) = [s for s in imap_host.running.servers if s.listener.name == "imaps"]
    # The listener's grace is 5 s; a session in IDLE must not hold the stop that long.
    stopping = asyncio.create_task(server.stop(grace=30))
    assert await asyncio.wait_for(talk.read_response(), 5) == b"* BYE Server shutting down."
    assert await talk.closed()
    await asyncio.wait_for(stopping, 5)
