"""An APPEND answered OK is on stable storage: the server is killed with SIGKILL while
clients append, started again, and every acknowledged message is there with the UID
its APPENDUID promised."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.imap.conftest import ImapTalk
from tests.mailhost.conftest import PASSWORD, client_tls
from tests.mailhost.process import prepare_host, start_server

CLIENTS = 4
ACKED_BEFORE_KILL = 40
LISTENERS = (ListenerExample("imaps", "imap", 0, "implicit"),)


async def appender(port: int, number: int, acked: dict[str, int], stop: asyncio.Event) -> None:
    try:
        talk = await ImapTalk.open(port, tls=client_tls())
        assert (await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')).ok
        count = 0
        while not stop.is_set():
            token = f"m{number}-{count}"
            count += 1
            data = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
            reply = await talk.append("INBOX", data)
            match = re.search(rb"\[APPENDUID \d+ (\d+)\]", reply.tagged)
            if reply.ok and match:
                acked[token] = int(match.group(1))
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        return  # the server was killed: what was not acknowledged may be lost


async def test_every_acknowledged_append_survives_sigkill(tmp_path: Path) -> None:
    config_path, port = await prepare_host(tmp_path / "host", listeners=LISTENERS)
    server = await start_server(config_path)
    acked: dict[str, int] = {}
    stop = asyncio.Event()
    clients = [asyncio.create_task(appender(port, n, acked, stop)) for n in range(CLIENTS)]
    try:
        async with asyncio.timeout(120):
            while len(acked) < ACKED_BEFORE_KILL:
                await asyncio.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # in the middle of appends, without warning
        await server.wait()
    finally:
        stop.set()
        with contextlib.suppress(ProcessLookupError):
            server.kill()
        await asyncio.gather(*clients)
    promised = dict(acked)
    assert len(promised) >= ACKED_BEFORE_KILL

    server = await start_server(config_path)
    try:
        talk = await ImapTalk.logged_in(port)
        assert (await talk.command("SELECT INBOX")).ok
        reply = await talk.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        stored = {}
        for line in reply.untagged:
            uid = re.search(rb"UID (\d+)", line)
            subject = re.search(rb"Subject: (m\d+-\d+)", line)
            if uid and subject:
                stored[subject.group(1).decode()] = int(uid.group(1))
        lost = {token for token in promised if token not in stored}
        assert not lost, f"acknowledged but lost: {sorted(lost)}"
        moved = {t: (promised[t], stored[t]) for t in promised if stored[t] != promised[t]}
        assert not moved, f"UIDs changed after the crash: {moved}"
        await talk.close()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
