"""POP3 sessions over real sockets (RFC 1939, 2449, 2595, 5034): Python's poplib for what
a client does, and line-level conversations for exactly what the server says. IMAP
sessions on the same host show what POP3 changed (EXPUNGE, \\Seen, quota)."""

from __future__ import annotations

import asyncio
import base64
import poplib
import re
import ssl
from pathlib import Path

import pytest

from mailroom.config.model import PasswordHashing
from mailroom.directory.passwords import PasswordHasher
from mailroom.pop3.maildrop import READ_AHEAD_BYTES, READ_AHEAD_MESSAGES
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.pop3_talk import ALICE, POP3_LISTENERS, Pop3Talk, deliver, message, plain, pop3s


def crlf_lines(data: bytes) -> list[bytes]:
    """A message as poplib hands back its lines (stored with LF, sent with CRLF)."""
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


async def imap(host: MailHost) -> ImapTalk:
    talk = await ImapTalk.logged_in(host.port("imaps"))
    assert (await talk.command("SELECT INBOX")).ok
    return talk


async def flags(host: MailHost) -> list[str]:
    """The flags of each INBOX message, as an IMAP client sees them now (without
    \\Recent: this IMAP session is the first to see the delivered messages)."""
    talk = await imap(host)
    reply = await talk.command("FETCH 1:* (FLAGS)")
    await talk.close()
    found = [re.search(r"FLAGS \((.*?)\)", line).group(1) for line in reply.lines("")]  # type: ignore[union-attr]
    return [" ".join(f for f in flags.split() if f != "\\Recent") for flags in found]


# -- a real client ---------------------------------------------------------------------------


def poplib_session(host: MailHost) -> dict[str, object]:
    client = pop3s(host)
    seen: dict[str, object] = {
        "stat": client.stat(),
        "list": client.list()[1],
        "list 2": client.list(2),
        "uidl": client.uidl()[1],
        "uidl 3": client.uidl(3),
        "retr 1": client.retr(1)[1],
        "retr 2": client.retr(2)[1],
        "top 3 1": client.top(3, 1)[1],
        "top 3 0": client.top(3, 0)[1],
        "noop": client.noop(),
        "dele 1": client.dele(1),
        "stat after dele": client.stat(),
        "rset": client.rset(),
        "stat after rset": client.stat(),
        "dele 3": client.dele(3),
        "capa": client.capa(),
    }
    seen["quit"] = client.quit()
    return seen


async def test_poplib_does_the_whole_command_set(pop3_host: MailHost) -> None:
    dotted = b"Subject: dots\n\n.\n..\n.hidden\nlast\n"
    messages = [message(1), dotted, message(3, body_lines=5)]
    deliver(pop3_host, messages)
    seen = await asyncio.to_thread(poplib_session, pop3_host)

    sizes = [len(m) + m.count(b"\n") for m in messages]  # octets with CRLF line ends
    assert seen["stat"] == (3, sum(sizes))
    assert seen["list"] == [b"%d %d" % (n, size) for n, size in enumerate(sizes, 1)]
    assert seen["list 2"] == b"+OK 2 %d" % sizes[1]
    uidls = [line.split()[1] for line in seen["uidl"]]  # type: ignore[attr-defined]
    assert len(set(uidls)) == 3
    assert seen["uidl 3"] == b"+OK 3 " + uidls[2]
    assert seen["retr 1"] == crlf_lines(messages[0])
    assert seen["retr 2"] == crlf_lines(dotted)  # stuffed on the wire, whole again here
    header = crlf_lines(messages[2])[:4]
    assert seen["top 3 1"] == [*header, b"", b"Line 1 of message 3."]
    assert seen["top 3 0"] == [*header, b""]
    assert seen["noop"] == b"+OK"
    assert seen["dele 1"] == b"+OK Marked to be deleted."
    assert seen["stat after dele"] == (2, sizes[1] + sizes[2])
    assert seen["rset"] == b"+OK"
    assert seen["stat after rset"] == (3, sum(sizes))
    assert set(seen["capa"]) >= {"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}  # type: ignore[arg-type]
    assert "STLS" not in seen["capa"]  # type: ignore[operator]
    assert seen["quit"] == b"+OK Logging out."
    # QUIT removed message 3 and marked the retrieved ones \Seen (not the TOPped one).
    assert await flags(pop3_host) == ["\\Seen", "\\Seen"]
    remaining = await asyncio.to_thread(lambda: pop3s(pop3_host).uidl()[1])
    assert [line.split()[1] for line in remaining] == uidls[:2]


async def test_uidls_are_dovecots_uid_and_uidvalidity_in_hex(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    talk = await imap(pop3_host)
    selected = await talk.command("EXAMINE INBOX")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(selected.untagged)).group(1))  # type: ignore[union-attr]
    fetched = await talk.command("FETCH 1:* (UID)")
    uids = [int(re.search(r"UID (\d+)", line).group(1)) for line in fetched.lines("")]  # type: ignore[union-attr]
    await talk.close()
    pop = await Pop3Talk.logged_in(pop3_host)
    _, lines = await pop.multiline("UIDL")
    assert lines == [b"%d %08x%08x" % (n, uid, uidvalidity) for n, uid in enumerate(uids, 1)]


# -- the maildrop ----------------------------------------------------------------------------


async def test_numbers_stay_after_dele_and_marked_messages_cannot_be_named(
    pop3_host: MailHost,
) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    pop = await Pop3Talk.logged_in(pop3_host)
    assert await pop.command("DELE 2") == b"+OK Marked to be deleted."
    assert await pop.command("DELE 2") == b"-ERR Message is deleted."
    assert await pop.command("RETR 2") == b"-ERR Message is deleted."
    assert await pop.command("TOP 2 0") == b"-ERR Message is deleted."
    assert await pop.command("LIST 2") == b"-ERR Message is deleted."
    assert await pop.command("UIDL 2") == b"-ERR Message is deleted."
    assert await pop.command("RETR 4") == b"-ERR There's no message 4."
    assert await pop.command("LIST 0") == b"-ERR Invalid message number."
    status, lines = await pop.multiline("LIST")
    assert status == b"+OK 2 messages:"
    assert [line.split()[0] for line in lines] == [b"1", b"3"]
    _, uidls = await pop.multiline("UIDL")
    assert [line.split()[0] for line in uidls] == [b"1", b"3"]
    status, body = await pop.multiline("RETR 3")
    assert body[2] == b"Subject: Message 3"
    assert await pop.command("RSET") == b"+OK"
    assert (await pop.command("STAT")).startswith(b"+OK 3 ")


async def test_quit_removes_the_marked_messages_and_imap_sees_them_expunged(
    pop3_host: MailHost,
) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 5)])
    watcher = await imap(pop3_host)
    pop = await Pop3Talk.logged_in(pop3_host)
    for number in (1, 3):
        assert (await pop.command(f"DELE {number}")).startswith(b"+OK")
    # Nothing happens before QUIT: IMAP still sees four messages.
    assert (await watcher.command("NOOP")).lines("") == []
    assert await pop.command("QUIT") == b"+OK Logging out."
    assert await pop.closed()
    reply = await watcher.command("NOOP")
    assert reply.lines("") == ["3 EXPUNGE", "1 EXPUNGE"]
    subjects = await watcher.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert [s for s in (b"Message 2", b"Message 4") if s in b"".join(subjects.untagged)] == [
        b"Message 2",
        b"Message 4",
    ]
    assert len(subjects.untagged) == 2
    await watcher.close()
    left = sorted(p.name for p in (pop3_host.maildir(ALICE) / "new").iterdir())
    left += sorted(p.name for p in (pop3_host.maildir(ALICE) / "cur").iterdir())
    assert len(left) == 2


async def test_quit_gives_the_space_back_to_the_quota(pop3_host: MailHost) -> None:
    await pop3_host.directory.update_account(ALICE, quota_bytes=100 * 1024)
    talk = await ImapTalk.logged_in(pop3_host.port("imaps"))
    stored = 0
    for n in range(3):
        data = b"Subject: big %d\r\n\r\n" % n + b"x" * 20_000 + b"\r\n"
        assert (await talk.append("INBOX", data)).ok
        stored = len(data) - data.count(b"\r")  # kept with LF line ends
    before = await talk.command("GETQUOTAROOT INBOX")
    assert before.untagged[1] == b'* QUOTA "" (STORAGE %d 100)' % (3 * stored // 1024)
    pop = await Pop3Talk.logged_in(pop3_host)
    assert (await pop.command("DELE 1")).startswith(b"+OK")
    assert (await pop.command("DELE 2")).startswith(b"+OK")
    assert await pop.command("QUIT") == b"+OK Logging out."
    after = await talk.command("GETQUOTAROOT INBOX")
    assert after.untagged[1] == b'* QUOTA "" (STORAGE %d 100)' % (stored // 1024)
    await talk.close()


async def test_retr_marks_seen_at_quit_and_top_does_not(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    pop = await Pop3Talk.logged_in(pop3_host)
    await pop.multiline("RETR 1")
    await pop.multiline("TOP 2 3")
    assert await flags(pop3_host) == ["", "", ""]  # not before QUIT
    assert await pop.command("QUIT") == b"+OK Logging out."
    assert await flags(pop3_host) == ["\\Seen", "", ""]


async def test_a_session_that_ends_without_quit_changes_nothing(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    pop = await Pop3Talk.logged_in(pop3_host)
    for number in (1, 2, 3):
        await pop.multiline(f"RETR {number}")
        assert (await pop.command(f"DELE {number}")).startswith(b"+OK")
    await pop.close()  # the connection is lost: no UPDATE state (RFC 1939 §6)
    again = await Pop3Talk.logged_in(pop3_host)  # the lock went with the connection
    assert (await again.command("STAT")).startswith(b"+OK 3 ")
    assert await flags(pop3_host) == ["", "", ""]
    await again.close()


async def test_a_session_waiting_when_the_server_stops_is_told_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async for host in start_host(tmp_path / "host", None, POP3_LISTENERS):
        deliver(host, [message(1)])
        pop = await Pop3Talk.logged_in(host)
        assert (await pop.command("DELE 1")).startswith(b"+OK")
    # The host has stopped (the loop above ended); what it said is still to be read.
    assert await pop.line() == b"-ERR [SYS/TEMP] Server shutting down."
    assert await pop.closed()
    maildir = host.maildir(ALICE)
    assert len([*(maildir / "new").iterdir(), *(maildir / "cur").iterdir()]) == 1


async def test_mail_arriving_during_a_session_waits_for_the_next_one(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(1)])
    pop = await Pop3Talk.logged_in(pop3_host)
    deliver(pop3_host, [message(2)])
    assert (await pop.command("STAT")).startswith(b"+OK 1 ")
    assert await pop.command("QUIT") == b"+OK Logging out."
    pop = await Pop3Talk.logged_in(pop3_host)
    assert (await pop.command("STAT")).startswith(b"+OK 2 ")
    await pop.close()


async def test_a_message_imap_expunged_during_the_session_is_gone_and_quit_still_works(
    pop3_host: MailHost,
) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    pop = await Pop3Talk.logged_in(pop3_host)
    talk = await imap(pop3_host)
    assert (await talk.command("STORE 1 +FLAGS (\\Deleted)")).ok
    assert (await talk.command("EXPUNGE")).ok
    assert await pop.command("RETR 1") == b"-ERR Message was removed by another session."
    assert (await pop.command("DELE 1")).startswith(b"+OK")
    assert (await pop.command("DELE 2")).startswith(b"+OK")
    assert await pop.command("QUIT") == b"+OK Logging out."
    reply = await talk.command("NOOP")
    assert reply.lines("") == ["1 EXPUNGE"]
    assert (await talk.command("FETCH 1:* (FLAGS)")).lines("") == ["1 FETCH (FLAGS (\\Recent))"]
    await talk.close()


@pytest.mark.parametrize("order", ["forward", "backward"])
async def test_many_messages_come_whole_in_any_order(pop3_host: MailHost, order: str) -> None:
    # More than one read-ahead batch, a message bigger than a batch's bytes and one
    # written in several pieces: each arrives whole, whatever order the client asks.
    count = READ_AHEAD_MESSAGES * 2 + 5
    messages = [message(n, body_lines=n % 7) for n in range(1, count + 1)]
    messages[10] = b"Subject: big\n\n" + b"line of a big message\n" * (READ_AHEAD_BYTES // 20)
    messages[40] = b"Subject: medium\n\n" + b".starts with a dot\n" * (64 * 1024 // 18)
    deliver(pop3_host, messages)
    pop = await Pop3Talk.logged_in(pop3_host)
    numbers = range(1, count + 1) if order == "forward" else range(count, 0, -1)
    for number in numbers:
        status, lines = await pop.multiline(f"RETR {number}")
        original = messages[number - 1]
        assert status == b"+OK %d octets" % (len(original) + original.count(b"\n"))
        assert lines == crlf_lines(original), number
    await pop.close()


async def test_pipelined_commands_are_answered_in_order(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(n) for n in range(1, 3)])
    pop = await Pop3Talk.logged_in(pop3_host)
    await pop.send(b"STAT\r\nRETR 1\r\nLIST 2\r\nDELE 1\r\nRETR 1\r\nNOOP\r\n")
    assert (await pop.line()).startswith(b"+OK 2 ")
    assert (await pop.line()).endswith(b" octets")
    assert (await pop.body())[2] == b"Subject: Message 1"
    assert (await pop.line()).startswith(b"+OK 2 ")
    assert await pop.line() == b"+OK Marked to be deleted."
    assert await pop.line() == b"-ERR Message is deleted."
    assert await pop.line() == b"+OK"
    await pop.close()


# -- one session per maildrop ----------------------------------------------------------------


async def test_a_second_session_is_refused_in_use_while_imap_goes_on(pop3_host: MailHost) -> None:
    deliver(pop3_host, [message(1)])
    first = await Pop3Talk.logged_in(pop3_host)
    second = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await second.command(f"USER {ALICE}") == b"+OK"
    answer = await second.command(f"PASS {PASSWORD}")
    assert answer == b"-ERR [IN-USE] Mailbox is locked by another POP3 session."
    # The same account through the STLS listener: the lock is the maildrop's.
    third = await Pop3Talk.open(pop3_host.port("pop3"))
    assert await third.command("STLS") == b"+OK Begin TLS negotiation now."
    await third.starttls()
    assert await third.command(f"USER {ALICE}") == b"+OK"
    assert (await third.command(f"PASS {PASSWORD}")).startswith(b"-ERR [IN-USE]")
    await third.close()
    # IMAP is not locked out.
    talk = await imap(pop3_host)
    assert (await talk.command("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")).ok
    await talk.close()
    # Another account is not either.
    bob = await Pop3Talk.logged_in(pop3_host, "bob@example.test")
    assert await bob.command("QUIT") == b"+OK Logging out."
    # Once the first session is over, the refused one may log in (it stayed in
    # AUTHORIZATION).
    assert await first.command("QUIT") == b"+OK Logging out."
    assert await second.command(f"USER {ALICE}") == b"+OK"
    assert await second.command(f"PASS {PASSWORD}") == b"+OK Logged in."
    assert (await second.command("STAT")).startswith(b"+OK 1 ")
    await second.close()


async def test_the_maildrop_is_free_once_quit_is_answered(pop3_host: MailHost) -> None:
    # RFC 1939 §6: the lock goes with the UPDATE state, so a client that heard +OK to
    # QUIT may log in again at once, before either side has closed the connection.
    # Folders nobody has open are closed at once, which is when the race would show.
    pop3_host.running.services.mail_store.linger = 0
    deliver(pop3_host, [message(n) for n in range(1, 4)])
    pop = await Pop3Talk.logged_in(pop3_host)
    for _ in range(20):
        assert (await pop.command("STAT")).startswith(b"+OK 3 ")
        assert await pop.command("QUIT") == b"+OK Logging out."
        previous, pop = pop, await Pop3Talk.logged_in(pop3_host)
        await previous.close()
    assert await pop.command("QUIT") == b"+OK Logging out."
    await pop.close()


# -- TLS and logging in ----------------------------------------------------------------------


async def test_stls_before_any_password(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3"))
    status, capabilities = await pop.multiline("CAPA")
    assert status == b"+OK Capability list follows"
    assert b"STLS" in capabilities
    assert b"USER" in capabilities
    assert not [c for c in capabilities if c.startswith(b"SASL")]  # nothing usable yet
    refused = (
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
    )
    assert await pop.command(f"USER {ALICE}") == refused
    assert await pop.command("AUTH PLAIN") == refused
    assert await pop.command("STAT") == b"-ERR Unknown command in this state."
    # A command sent after STLS in the same packet is thrown away, never answered
    # after the handshake as if it had come over TLS (RFC 2595 §4).
    await pop.send(b"STLS\r\nCAPA\r\n")
    assert await pop.line() == b"+OK Begin TLS negotiation now."
    await pop.starttls()
    assert await pop.command("NOOP") == b"+OK"
    _, capabilities = await pop.multiline("CAPA")
    assert b"STLS" not in capabilities
    assert b"SASL PLAIN LOGIN" in capabilities
    assert await pop.command("STLS") == b"-ERR TLS is already active."
    assert await pop.command(f"USER {ALICE}") == b"+OK"
    assert await pop.command(f"PASS {PASSWORD}") == b"+OK Logged in."
    _, capabilities = await pop.multiline("CAPA")
    assert b"USER" not in capabilities
    await pop.close()


async def test_stls_on_the_implicit_tls_listener_is_refused(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.command("STLS") == b"-ERR TLS is already active."
    await pop.close()


async def test_sasl_plain_with_an_initial_response(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.command(f"AUTH PLAIN {plain()}") == b"+OK Logged in."
    assert (await pop.command("STAT")).startswith(b"+OK 0 ")
    await pop.close()


async def test_sasl_plain_after_a_challenge_and_login(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.command("AUTH PLAIN") == b"+ "
    assert await pop.command(plain()) == b"+OK Logged in."
    await pop.close()
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.command("AUTH LOGIN") == b"+ " + base64.b64encode(b"Username:")
    assert await pop.command(base64.b64encode(ALICE.encode())) == b"+ " + base64.b64encode(
        b"Password:"
    )
    assert await pop.command(base64.b64encode(PASSWORD.encode())) == b"+OK Logged in."
    await pop.close()


async def test_auth_failures_and_the_mechanism_list(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.multiline("AUTH") == (b"+OK", [b"PLAIN", b"LOGIN"])
    failed = b"-ERR [AUTH] Authentication failed."
    assert await pop.command(f"AUTH PLAIN {plain(password='wrong')}") == failed
    assert await pop.command("AUTH PLAIN") == b"+ "
    assert await pop.command("*") == b"-ERR [AUTH] Authentication aborted by client."
    assert await pop.command("AUTH CRAM-MD5") == b"-ERR Unsupported authentication mechanism."
    assert await pop.command(f"USER {ALICE}") == b"+OK"
    assert await pop.command("PASS wrong") == failed
    assert await pop.command(f"PASS {PASSWORD}") == b"-ERR No username given."
    assert await pop.command("APOP alice 0123456789abcdef0123456789abcdef") == (
        b"-ERR APOP is not supported."
    )
    # Still in AUTHORIZATION, and the right password works.
    assert await pop.command(f"USER {ALICE}") == b"+OK"
    assert await pop.command(f"PASS {PASSWORD}") == b"+OK Logged in."
    await pop.close()


async def test_quit_before_login(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    assert await pop.command("QUIT") == b"+OK Logging out."
    assert await pop.closed()


def poplib_refused(port: int) -> str:
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        client.user(ALICE)
    except poplib.error_proto as error:
        return str(error)
    finally:
        client.close()
    return "accepted"


async def test_poplib_without_tls_is_told_why(pop3_host: MailHost) -> None:
    said = await asyncio.to_thread(poplib_refused, pop3_host.port("pop3"))
    assert "Plaintext authentication disallowed" in said


MASTER_PASSWORD = "webmail master secret"


async def test_a_master_user_logs_in_as_a_member(tmp_path: Path) -> None:
    # The legacy webmail's master password, as Dovecot allowed it: `user*master` with
    # USER/PASS, or the SASL authorization identity with AUTH PLAIN.
    hashed = PasswordHasher(PasswordHashing(time_cost=1, memory_kib=64, parallelism=1)).hash(
        MASTER_PASSWORD
    )
    settings = {
        "# [[auth.master_users]]": "[[auth.master_users]]",
        '# name = "webmail"': 'name = "webmail"',
        '# password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."': f'password_hash = "{hashed}"',
        '# networks = ["172.16.2.20/32"]': 'networks = ["127.0.0.1/32"]',
    }
    async for host in start_host(tmp_path / "host", settings, POP3_LISTENERS):
        deliver(host, [message(1), message(2)])
        pop = await Pop3Talk.open(host.port("pop3s"), tls=True)
        assert await pop.command(f"USER {ALICE}*webmail") == b"+OK"
        assert await pop.command(f"PASS {MASTER_PASSWORD}") == b"+OK Logged in."
        assert (await pop.command("STAT")).startswith(b"+OK 2 ")
        assert await pop.command("QUIT") == b"+OK Logging out."
        pop = await Pop3Talk.open(host.port("pop3s"), tls=True)
        sasl = base64.b64encode(f"{ALICE}\0webmail\0{MASTER_PASSWORD}".encode()).decode()
        assert await pop.command(f"AUTH PLAIN {sasl}") == b"+OK Logged in."
        assert (await pop.command("STAT")).startswith(b"+OK 2 ")
        await pop.close()


async def test_clients_over_a_listeners_limits_are_told_why(tmp_path: Path) -> None:
    settings = {
        'name = "pop3s"': 'name = "pop3s"\nmax_connections_per_ip = 1',
        'name = "pop3"': 'name = "pop3"\nallow_networks = ["192.0.2.0/24"]',
    }
    async for host in start_host(tmp_path / "host", settings, POP3_LISTENERS):
        first = await Pop3Talk.open(host.port("pop3s"), tls=True)
        # Over a limit on an implicit-TLS port: closed before any TLS work (net/listener.py).
        with pytest.raises((ConnectionError, ssl.SSLError)):
            await asyncio.open_connection("127.0.0.1", host.port("pop3s"), ssl=client_tls())
        await first.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port("pop3"))
        # A network that is not allowed hears nothing at all (the connection layer's rule).
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()


async def test_a_long_burst_reaches_a_slow_reader_whole_and_in_order(pop3_host: MailHost) -> None:
    # Answers far larger than the socket buffers, written a burst at a time in one
    # writev of many pieces while the client reads a little at a time: each arrives
    # whole, dot-stuffed, in the order asked, the refusals among them in place.
    count = 60
    messages = [
        b"Subject: %d\n\n" % n + b"a line of text\n.a line with a dot\n" * (200 + n * 13)
        for n in range(1, count + 1)
    ]
    deliver(pop3_host, messages)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", pop3_host.port("pop3s"), ssl=client_tls(), limit=4096
    )
    slow = Pop3Talk(reader, writer)  # a small buffer: the server waits for room
    assert (await slow.line()).startswith(b"+OK")
    burst = [b"USER %s" % ALICE.encode(), b"PASS %s" % PASSWORD.encode()]
    burst += [b"RETR %d" % n for n in range(1, count + 1)]
    burst += [b"BOGUS", b"DELE 2", b"RETR 2", b"LIST 3", b"NOOP"]
    await slow.send(b"\r\n".join(burst) + b"\r\n")
    assert await slow.line() == b"+OK"
    assert (await slow.line()).startswith(b"+OK Logged in")
    for number in range(1, count + 1):
        original = messages[number - 1]
        assert await slow.line() == b"+OK %d octets" % (len(original) + original.count(b"\n"))
        assert await slow.body() == crlf_lines(original), number
        await asyncio.sleep(0)
    assert (await slow.line()).startswith(b"-ERR")
    assert await slow.line() == b"+OK Marked to be deleted."
    assert await slow.line() == b"-ERR Message is deleted."
    assert (await slow.line()).startswith(b"+OK 3 ")
    assert await slow.line() == b"+OK"
    assert await slow.command("QUIT") == b"+OK Logging out."
    await slow.close()
