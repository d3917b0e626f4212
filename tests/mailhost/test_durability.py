"""Acknowledged mail is never lost: the server is killed with SIGKILL while clients
send, and started again; every message that got a 250 is delivered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import aiosmtplib

from mailroom import app
from mailroom.config import load_config
from tests.mailhost.conftest import populate, write_config

SENDERS = 8
ACKED_BEFORE_KILL = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_server(config: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mailroom",
        "serve",
        "-c",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    while True:  # the server says when it is ready
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, "the server exited before it was ready"
        if line.startswith(b"running"):
            return process


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
    root.mkdir()
    port = free_port()
    config_path = write_config(root, {'address = "127.0.0.1:0"': f'address = "127.0.0.1:{port}"'})
    text = config_path.read_text()
    # Only the first listener keeps the fixed port; the others stay on port 0.
    config_path.write_text(
        text.replace(f'address = "127.0.0.1:{port}"', 'address = "127.0.0.1:0"').replace(
            'address = "127.0.0.1:0"', f'address = "127.0.0.1:{port}"', 1
        )
    )
    config = load_config(config_path)
    directory = await app.open_directory(config)
    await directory.migrate()
    await populate(directory, config)
    await directory.close()

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
