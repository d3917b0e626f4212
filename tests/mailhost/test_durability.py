"""Acknowledged mail is never lost: the server is killed with SIGKILL while clients
send, and started again; every message that got a 250 is delivered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from pathlib import Path

import aiosmtplib

from tests.support.server_process import prepare_host, start_server

SENDERS = 8
ACKED_BEFORE_KILL = 60


async def sender(port: int, number: int, acked: set[str], stop: asyncio.Event) -> None:
    count = 0
    while not stop.is_set():
        token = f"m{number}-{count}"
        count += 1
        message = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
        try:
            await aiosmtplib.send(
                message,
                sender="carol@outside.example",
                recipients=["alice@example.test"],
                hostname="127.0.0.1",
                port=port,
                start_tls=False,
                timeout=10,
            )
        except (aiosmtplib.SMTPException, OSError):
            continue  # not acknowledged: the server may keep it or not
        acked.add(token)


def delivered_tokens(maildir: Path) -> set[str]:
    tokens = set()
    for sub in ("new", "cur"):
        for path in (maildir / sub).glob("*"):
            match = re.search(rb"^Subject: (m\d+-\d+)$", path.read_bytes(), re.MULTILINE)
            if match:
                tokens.add(match.group(1).decode())
    return tokens


async def test_every_acknowledged_message_survives_sigkill(tmp_path: Path) -> None:
    root = tmp_path / "host"
    config_path, port = await prepare_host(root)

    server = await start_server(config_path)
    acked: set[str] = set()
    stop = asyncio.Event()
    senders = [asyncio.create_task(sender(port, n, acked, stop)) for n in range(SENDERS)]
    deadline = time.monotonic() + 120
    while len(acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)  # in the middle of sessions and deliveries
    await server.wait()
    stop.set()
    await asyncio.gather(*senders)
    assert len(acked) >= ACKED_BEFORE_KILL

    server = await start_server(config_path)
    try:
        maildir = root / "data" / "mail" / "example.test" / "alice" / "Maildir"
        deadline = time.monotonic() + 120
        while not acked <= delivered_tokens(maildir) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        missing = acked - delivered_tokens(maildir)
        lost = sorted(missing)[:5]
        assert missing == set(), f"{len(missing)} acknowledged message(s) lost: {lost}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 60)
