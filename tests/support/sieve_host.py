"""A whole host for Sieve at delivery: SMTP in (smtplib), IMAP out (imaplib), members'
scripts written straight into Pigeonhole's layout (`~/sieve/NAME.sieve` and the link
`~/.dovecot.sieve`), as ManageSieve or Dovecot's tools would leave them."""

from __future__ import annotations

import asyncio
import imaplib
import os
import re
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from mailroom import app
from mailroom.config import load_config
from mailroom.config.example import ListenerExample
from mailroom.store import locate_sieve
from tests.support.mail_host import (
    LISTENERS,
    PASSWORD,
    Internet,
    MailHost,
    client_tls,
    start_host,
)

SIEVE_LISTENERS = (*LISTENERS, ListenerExample("imaps", "imap", 0, "implicit"))


async def start_sieve_host(
    root: Path, settings: dict[str, str] | None = None
) -> AsyncIterator[MailHost]:
    async for host in start_host(root, settings, SIEVE_LISTENERS):
        yield host


def install_script(host: MailHost, address: str, name: str, text: str | bytes) -> Path:
    """Write `~/sieve/NAME.sieve` of the account and make it the active script (the
    relative link Pigeonhole makes)."""
    where = locate_sieve(
        host.config.sieve, host.config.mailbox, host.config.resolve(host.config.data_dir), address
    )
    where.scripts.mkdir(parents=True, exist_ok=True)
    path = where.scripts / f"{name}.sieve"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if where.active.is_symlink() or where.active.exists():
        where.active.unlink()
    os.symlink(os.path.relpath(path, where.active.parent), where.active)
    return path


def send(
    host: MailHost, sender: str, recipients: list[str], message: bytes
) -> dict[str, tuple[int, bytes]]:
    """One message over SMTP on the host's port 25, as another mail host sends it
    (blocking: run it in a thread). Raises what smtplib raises for a refusal."""
    with smtplib.SMTP("127.0.0.1", host.port("smtp"), timeout=30) as client:
        return client.sendmail(sender, recipients, message)


@dataclass(frozen=True)
class Fetched:
    flags: frozenset[str]
    message: bytes


_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")


def fetch_all(host: MailHost, address: str, folder: str = "INBOX") -> list[Fetched]:
    """Every message of an account's folder with its flags, read over IMAP (imaplib;
    blocking: run it in a thread). A folder that does not exist is an AssertionError."""
    with imaplib.IMAP4_SSL("127.0.0.1", host.port("imaps"), ssl_context=client_tls()) as client:
        client.login(address, PASSWORD)
        status, exists = client.select(folder, readonly=True)
        assert status == "OK", f"no folder {folder!r}"
        if exists == [b"0"]:
            return []
        status, data = client.fetch("1:*", "(FLAGS BODY.PEEK[])")
        if status != "OK" or data == [None]:
            return []
        found = []
        for item in data:
            if isinstance(item, tuple):
                flags = _FLAGS.search(item[0])
                names = flags.group(1).decode().split() if flags else []
                found.append(Fetched(frozenset(names) - {"\\Recent"}, item[1]))
        return found


def folders(host: MailHost, address: str) -> list[str]:
    """The account's folder names as IMAP LIST gives them (blocking)."""
    with imaplib.IMAP4_SSL("127.0.0.1", host.port("imaps"), ssl_context=client_tls()) as client:
        client.login(address, PASSWORD)
        status, data = client.list()
        assert status == "OK"
        return [line.rsplit(b" ", 1)[1].strip(b'"').decode() for line in data if line]


async def serve_again(root: Path, internet: Internet) -> AsyncIterator[MailHost]:
    """The host of `root` started once more, as after a restart: its config, directory,
    Maildirs and queue as the last run left them."""
    config = load_config(root / "mailroom.toml")
    ready: asyncio.Future[app.RunningHost] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def started(running: app.RunningHost) -> None:
        ready.set_result(running)

    task = asyncio.create_task(app.serve(config, lambda line: None, started=started, stop=stop))
    done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    try:
        yield MailHost(root, config, ready.result(), internet)
    finally:
        stop.set()
        await task
