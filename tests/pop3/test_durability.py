"""POP3 and crashes: a session cut off before QUIT deletes nothing, whatever it marked;
deletions QUIT acknowledged stay done. The server is killed with SIGKILL and started
again on the same data."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

from mailroom.config.example import ListenerExample
from mailroom.store import Maildir
from tests.support.mail_host import PASSWORD
from tests.support.pop3_talk import ALICE, Pop3Talk, message
from tests.support.server_process import prepare_host, start_server

LISTENERS = (ListenerExample("pop3s", "pop3", 0, "implicit"),)
MESSAGES = 30


async def logged_in(port: int) -> Pop3Talk:
    pop = await Pop3Talk.open(port, tls=True)
    assert await pop.command(f"USER {ALICE}") == b"+OK"
    assert await pop.command(f"PASS {PASSWORD}") == b"+OK Logged in."
    return pop


def files(maildir: Path) -> list[str]:
    return sorted(p.name for sub in ("new", "cur") for p in (maildir / sub).iterdir())


async def start_with_mail(root: Path) -> tuple[Path, int, Path]:
    config, port = await prepare_host(root, listeners=LISTENERS)
    maildir = root / "data" / "mail" / "example.test" / "alice" / "Maildir"
    drop = Maildir(maildir, hostname="mail.example.test")
    drop.create()
    for number in range(MESSAGES):
        drop.deliver(io.BytesIO(message(number)))
    return config, port, maildir


async def test_a_session_killed_before_quit_deletes_nothing(tmp_path: Path) -> None:
    config, port, maildir = await start_with_mail(tmp_path / "host")
    server = await start_server(config)
    try:
        pop = await logged_in(port)
        for number in range(1, MESSAGES + 1):
            status, _ = await pop.multiline(f"RETR {number}")
            assert status.endswith(b" octets")
            assert await pop.command(f"DELE {number}") == b"+OK Marked to be deleted."
        os.kill(server.pid, signal.SIGKILL)  # with every message marked, before QUIT
        await server.wait()
        await pop.close()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    server = await start_server(config)
    try:
        pop = await logged_in(port)  # the dead process's lock went with it
        assert (await pop.command("STAT")).startswith(b"+OK %d " % MESSAGES)
        assert not [name for name in files(maildir) if name.rpartition(",")[2].count("S")]
        assert await pop.command("QUIT") == b"+OK Logging out."
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()


async def test_deletions_quit_acknowledged_survive_sigkill(tmp_path: Path) -> None:
    config, port, maildir = await start_with_mail(tmp_path / "host")
    server = await start_server(config)
    try:
        pop = await logged_in(port)
        for number in range(1, MESSAGES + 1, 2):
            assert await pop.command(f"DELE {number}") == b"+OK Marked to be deleted."
        assert await pop.command("QUIT") == b"+OK Logging out."
        os.kill(server.pid, signal.SIGKILL)  # at once after the acknowledgement
        await server.wait()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert len(files(maildir)) == MESSAGES // 2
    server = await start_server(config)
    try:
        pop = await logged_in(port)
        _, listing = await pop.multiline("LIST")
        assert len(listing) == MESSAGES // 2
        for number in range(1, MESSAGES // 2 + 1):
            _, lines = await pop.multiline(f"TOP {number} 0")
            assert b"Subject: Message %d" % (2 * number - 1) in lines
        await pop.close()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
