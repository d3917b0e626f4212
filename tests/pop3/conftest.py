"""A running Mailroom host with POP3 listeners (and IMAP, to see POP3's changes from the
other side), and ways to put mail into an account's INBOX.

poplib is a blocking client: tests run it in a thread (`asyncio.to_thread`) so that the
host, which runs on the test's event loop, goes on serving."""

from __future__ import annotations

import io
import poplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.config.example import ListenerExample
from mailroom.store import Maildir
from tests.mailhost.conftest import LISTENERS, PASSWORD, MailHost, client_tls, start_host

POP3_LISTENERS = (
    *LISTENERS,
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3", "pop3", 0, "starttls"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)
ALICE = "alice@example.test"

__all__ = ["ALICE", "PASSWORD", "deliver", "message", "pop3_host", "pop3s"]


@pytest.fixture
async def pop3_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path / "host", listeners=POP3_LISTENERS):
        yield host


def message(number: int, body_lines: int = 3) -> bytes:
    """A small message with LF line ends, as Maildir files hold them."""
    body = "".join(f"Line {n} of message {number}.\n" for n in range(1, body_lines + 1))
    return (
        f"From: sender@example.org\nTo: {ALICE}\nSubject: Message {number}\n"
        f"Message-ID: <m{number}@example.org>\n\n{body}"
    ).encode()


def deliver(host: MailHost, messages: list[bytes], address: str = ALICE) -> list[Path]:
    """Drop messages into the account's INBOX as local delivery does (new/), in order."""
    maildir = Maildir(host.maildir(address), hostname="mail.example.test")
    maildir.create()
    return [maildir.deliver(io.BytesIO(data)) for data in messages]


def pop3s(host: MailHost, user: str = ALICE, password: str = PASSWORD) -> poplib.POP3_SSL:
    """A poplib session on the implicit-TLS listener, logged in with USER/PASS."""
    client = poplib.POP3_SSL("127.0.0.1", host.port("pop3s"), context=client_tls(), timeout=30)
    client.user(user)
    client.pass_(password)
    return client
