"""`[server] workers = 2`: the IMAP and POP3 listeners are served by two worker
processes, which share the login throttle and IDLE wake-ups, see each other's changes
with the same UIDs and MODSEQs, are restarted when they die and never outlive the main
process. Which process serves a connection is read from /proc, not from the server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import poplib
import re
import signal
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib
import pytest

from mailroom.config.example import ListenerExample
from mailroom.net.certificates import write_self_signed_certificate
from mailroom.store.events import POLL_INTERVAL
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, client_tls
from tests.support.processes import alive, children_of, holder, until
from tests.support.server_process import logged, prepare_host_ports, start_server

LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)
SETTINGS = {"# workers = 1": "workers = 2", "# max_failures_per_ip = 10": "max_failures_per_ip = 4"}
WAKE_BOUND = POLL_INTERVAL - 1
"""An IDLE woken within this was woken by the event hub, not by its own stat poll."""


@dataclass
class RunningServer:
    process: asyncio.subprocess.Process
    config: Path
    ports: dict[str, int]

    @property
    def workers(self) -> set[int]:
        return children_of(self.process.pid)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    config, ports = await prepare_host_ports(tmp_path / "host", SETTINGS, LISTENERS)
    process = await start_server(config)
    try:
        yield RunningServer(process, config, ports)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()


def served_by(talk: ImapTalk, port: int, workers: set[int]) -> int | None:
    return holder(port, talk.writer.get_extra_info("sockname")[1], workers)


async def one_session_per_worker(server: RunningServer, *, log_in: bool = True) -> list[ImapTalk]:
    """A session (logged in as alice) on each worker, opening connections until each
    worker has taken one; the others are closed."""
    port, workers = server.ports["imaps"], server.workers
    assert len(workers) == 2
    found: dict[int, ImapTalk] = {}
    for _ in range(100):
        talk = await ImapTalk.open(port, tls=client_tls())
        pid = served_by(talk, port, workers)
        assert pid is not None, "a connection served by no worker"
        if pid in found:
            await talk.close()
            continue
        if log_in:
            assert (await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')).ok
        found[pid] = talk
        if len(found) == len(workers):
            return list(found.values())
    raise AssertionError(f"100 connections all served by {list(found)}")


async def test_connections_are_spread_over_the_workers_never_the_main_process(
    server: RunningServer,
) -> None:
    port, workers = server.ports["imaps"], server.workers
    sessions = [await ImapTalk.logged_in(port) for _ in range(6)]
    served = [served_by(talk, port, workers | {server.process.pid}) for talk in sessions]
    assert sorted(served.count(pid) for pid in workers) == [3, 3]  # the least busy gets it
    for talk in sessions:
        assert (await talk.command("SELECT INBOX")).ok
        await talk.close()


async def wait_for_exists(talk: ImapTalk) -> bytes:
    async with asyncio.timeout(WAKE_BOUND):
        while b"EXISTS" not in (line := await talk.read_response()):
            pass
    return line


async def idle(talk: ImapTalk) -> None:
    await talk.send(b"i IDLE\r\n")
    assert (await talk.read_response()).startswith(b"+")


async def done(talk: ImapTalk) -> None:
    await talk.send(b"DONE\r\n")
    await talk.reply("i")


async def test_idle_in_one_worker_is_woken_by_smtp_delivery_and_by_append_in_the_other(
    server: RunningServer,
) -> None:
    idler, other = await one_session_per_worker(server)
    assert (await idler.command("SELECT INBOX")).ok

    await idle(idler)
    await aiosmtplib.send(
        b"Subject: by smtp\r\n\r\nhi\r\n",
        sender="carol@outside.example",
        recipients=["alice@example.test"],
        hostname="127.0.0.1",
        port=server.ports["smtp"],
        start_tls=False,
    )
    assert await wait_for_exists(idler) == b"* 1 EXISTS"
    await done(idler)

    await idle(idler)  # a new IDLE: a new stat poll, its first look a full interval away
    assert (await other.append("INBOX", b"Subject: by append\r\n\r\nhi\r\n")).ok
    assert await wait_for_exists(idler) == b"* 2 EXISTS"
    await done(idler)
    await idler.close()
    await other.close()


async def test_the_throttle_counts_failures_on_both_workers_together(
    server: RunningServer,
) -> None:
    first, second = await one_session_per_worker(server, log_in=False)
    for talk in (first, second, first, second):  # 2 failures on each: 4, the limit
        assert not (await talk.command('LOGIN alice@example.test "wrong"')).ok
    for talk in (first, second):
        assert not (await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')).ok
    await logged(server.config, "reason=ip_banned")
    await first.close()
    await second.close()


def fetched(lines: list[str], *, modseq: bool) -> list[str]:
    """UID and flags (and MODSEQ) of each FETCH line, without \\Recent (one session's)."""
    found = []
    for line in lines:
        uid = re.search(r"UID (\d+)", line)
        flags = re.search(r"FLAGS \(([^)]*)\)", line)
        assert uid and flags, line
        kept = " ".join(sorted(set(flags.group(1).split()) - {"\\Recent"}))
        mod = re.search(r"MODSEQ \((\d+)\)", line)
        found.append(f"{uid.group(1)} ({kept})" + (f" {mod.group(1)}" if modseq and mod else ""))
    return sorted(found)


async def changes_seen_from_the_other_worker(
    server: RunningServer, *, modseq: bool
) -> tuple[list[str], list[str]]:
    """APPEND, STORE, EXPUNGE in one worker's session; what it and a session in the
    other worker then fetch."""
    writer, reader = await one_session_per_worker(server)
    for talk in (writer, reader):
        assert (await talk.command("SELECT INBOX (CONDSTORE)")).ok
    for number in range(3):
        assert (await writer.append("INBOX", f"Subject: {number}\r\n\r\nx\r\n".encode())).ok
    assert (await writer.command("STORE 2 +FLAGS (\\Flagged)")).ok
    assert (await writer.command("STORE 1 +FLAGS (\\Deleted)")).ok
    assert (await writer.command("EXPUNGE")).ok
    fetch = "UID FETCH 1:* (UID FLAGS MODSEQ)"
    written = fetched((await writer.command(fetch)).lines(""), modseq=modseq)
    assert (await reader.command("NOOP")).ok
    seen = fetched((await reader.command(fetch)).lines(""), modseq=modseq)
    await writer.close()
    await reader.close()
    return written, seen


async def test_sessions_on_two_workers_see_each_others_changes_with_the_same_uids(
    server: RunningServer,
) -> None:
    written, seen = await changes_seen_from_the_other_worker(server, modseq=False)
    assert written == ["2 (\\Flagged)", "3 ()"]
    assert seen == written


async def test_sessions_on_two_workers_see_the_same_modseqs(server: RunningServer) -> None:
    written, seen = await changes_seen_from_the_other_worker(server, modseq=True)
    assert seen == written


def value(name: str, text: str) -> int:
    """The number after `name` in a reply (`HIGHESTMODSEQ 12`, `MODSEQ (12)`)."""
    found = re.search(rf"{name} \(?(\d+)", text)
    assert found, (name, text)
    return int(found.group(1))


async def test_a_store_on_one_worker_is_fetched_changedsince_on_the_other_with_its_modseq(
    server: RunningServer,
) -> None:
    writer, reader = await one_session_per_worker(server)
    for number in range(3):
        assert (await writer.append("INBOX", f"Subject: {number}\r\n\r\nx\r\n".encode())).ok
    selected = [await talk.command("SELECT INBOX (CONDSTORE)") for talk in (writer, reader)]
    before = value("HIGHESTMODSEQ", selected[1].text())
    assert value("HIGHESTMODSEQ", selected[0].text()) == before

    stored = await writer.command("STORE 2 +FLAGS (\\Flagged)")
    changed = value("MODSEQ", stored.text())
    assert changed > before

    assert (await reader.command("NOOP")).ok
    reply = await reader.command(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {before})")
    assert [line.replace(b" \\Recent", b"") for line in reply.untagged] == [
        b"* 2 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % changed
    ]
    assert (await reader.command(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {changed})")).untagged == []
    await writer.close()
    await reader.close()


async def test_a_qresync_select_on_one_worker_reports_the_others_expunge_vanished(
    server: RunningServer,
) -> None:
    writer, reader = await one_session_per_worker(server)
    for talk in (writer, reader):
        assert (await talk.command("ENABLE QRESYNC")).ok
    for number in range(3):
        assert (await writer.append("INBOX", f"Subject: {number}\r\n\r\nx\r\n".encode())).ok
    selected = (await reader.command("SELECT INBOX")).text()
    known = f"{value('UIDVALIDITY', selected)} {value('HIGHESTMODSEQ', selected)}"
    assert (await reader.command("UNSELECT")).ok

    assert (await writer.command("SELECT INBOX")).ok
    assert (await writer.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await writer.command("STORE 3 +FLAGS.SILENT (\\Seen)")).ok
    assert (await writer.command("EXPUNGE")).untagged == [b"* VANISHED 1"]
    assert (await writer.command("UNSELECT")).ok
    status = (await writer.command("STATUS INBOX (HIGHESTMODSEQ)")).text()

    reply = await reader.command(f"SELECT INBOX (QRESYNC ({known}))")
    assert b"* VANISHED (EARLIER) 1" in reply.untagged
    changed = [line for line in reply.untagged if b"FETCH" in line]
    assert len(changed) == 1 and changed[0].startswith(b"* 2 FETCH (UID 3 ")
    assert value("HIGHESTMODSEQ", reply.text()) == value("HIGHESTMODSEQ", status)
    await writer.close()
    await reader.close()


async def freed_slot(port: int) -> ImapTalk:
    """A session opened once a closed one's slot is free (the close travels from the
    worker to the main process first)."""
    for _ in range(200):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls())
        except (ConnectionError, ssl.SSLError):  # still refused before TLS
            await asyncio.sleep(0.05)
            continue
        greeting = await reader.readline()
        if greeting.startswith(b"* OK"):
            talk = ImapTalk(reader, writer)
            talk.greeting = greeting
            return talk
        writer.close()
        await asyncio.sleep(0.05)
    raise AssertionError("the closed session's slot was never freed")


async def test_the_connection_cap_per_address_counts_the_whole_host(tmp_path: Path) -> None:
    capped = {**SETTINGS, 'tls = "implicit"\n': 'tls = "implicit"\nmax_connections_per_ip = 3\n'}
    config, ports = await prepare_host_ports(tmp_path / "host", capped, LISTENERS)
    process = await start_server(config)
    try:
        port, workers = ports["imaps"], children_of(process.pid)
        sessions = [await ImapTalk.open(port, tls=client_tls()) for _ in range(3)]
        assert {served_by(talk, port, workers) for talk in sessions} == workers
        # Over the cap on an implicit-TLS port: closed before any TLS work (net/handoff.py).
        with pytest.raises((ConnectionError, ssl.SSLError)):
            await asyncio.open_connection("127.0.0.1", port, ssl=client_tls())
        await logged(config, "refused a client of 127.0.0.1 before TLS")
        await sessions.pop().close()
        sessions.append(await freed_slot(port))  # once the worker has told the main process
        for talk in sessions:
            await talk.close()
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


async def test_a_killed_worker_is_started_again_and_serves(server: RunningServer) -> None:
    before = server.workers
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    await logged(server.config, "killed by signal 9; starting it again")
    await until(lambda: len(server.workers - before) == 1 and victim not in server.workers)
    await logged(server.config, "worker 0 ready again")  # taking connections
    sessions = await one_session_per_worker(server)
    served = {served_by(t, server.ports["imaps"], server.workers) for t in sessions}
    assert served == server.workers and victim not in served
    for talk in sessions:
        await talk.close()


async def certificates_of_both_workers(server: RunningServer) -> set[bytes]:
    """The certificates two connections open at once are given: one from each worker."""
    port = server.ports["imaps"]
    sessions = [await ImapTalk.open(port, tls=client_tls()) for _ in range(2)]
    assert {served_by(talk, port, server.workers) for talk in sessions} == server.workers
    seen = set()
    for talk in sessions:
        seen.add(bytes(talk.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)))
        await talk.close()
    return seen


async def test_sighup_gives_the_workers_new_certificates(server: RunningServer) -> None:
    before = await certificates_of_both_workers(server)
    assert len(before) == 1
    root = server.config.parent
    write_self_signed_certificate(
        root / "tls" / "cert.pem", root / "tls" / "key.pem", "renewed.example.test"
    )
    server.process.send_signal(signal.SIGHUP)
    log = root / "serve.log"
    await until(lambda: log.read_text().count("TLS certificates reloaded") == 3, what="3 reloads")
    after = await certificates_of_both_workers(server)
    assert len(after) == 1 and after != before


async def test_sigterm_stops_every_worker(server: RunningServer) -> None:
    workers = server.workers
    assert len(workers) == 2 and all(alive(pid) for pid in workers)
    server.process.send_signal(signal.SIGTERM)
    assert await server.process.wait() == 0
    assert not any(alive(pid) for pid in workers)


async def test_workers_end_when_the_main_process_is_killed(server: RunningServer) -> None:
    workers = server.workers
    server.process.send_signal(signal.SIGKILL)
    await server.process.wait()
    await until(lambda: not any(alive(pid) for pid in workers), what="the workers' end")


async def test_pop3_is_served_by_the_workers(server: RunningServer) -> None:
    port, workers = server.ports["pop3s"], server.workers

    def session() -> tuple[int | None, tuple[int, int]]:
        client = poplib.POP3_SSL("127.0.0.1", port, context=client_tls(), timeout=30)
        try:
            client.user("alice@example.test")
            client.pass_(PASSWORD)
            serving = holder(port, client.sock.getsockname()[1], workers | {server.process.pid})
            return serving, client.stat()
        finally:
            client.quit()

    serving, stat = await asyncio.to_thread(session)
    assert serving in workers
    assert stat == (0, 0)
