"""POP3 in tests: the listeners of a host that serves POP3 (and IMAP, to see POP3's
changes from the other side), a line-level POP3 client, poplib logged in, and ways to
put mail into an account's INBOX.

poplib is a blocking client: tests run it in a thread (`asyncio.to_thread`) so that the
host, which runs on the test's event loop, goes on serving."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import poplib
import ssl
from pathlib import Path

from mailroom.config.example import ListenerExample
from mailroom.store import Maildir
from tests.support.mail_host import LISTENERS, PASSWORD, MailHost, client_tls

POP3_LISTENERS = (
    *LISTENERS,
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3", "pop3", 0, "starttls"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)
ALICE = "alice@example.test"


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


def plain(user: str = ALICE, password: str = PASSWORD) -> str:
    """An AUTH PLAIN initial response (RFC 4616)."""
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def max_bad_commands(host: MailHost, listener: str = "pop3s") -> int:
    """The listener's `max_bad_commands`, as the host's config has it."""
    (found,) = [each for each in host.config.listeners if each.name == listener]
    return found.max_bad_commands


def pop3s(host: MailHost, user: str = ALICE, password: str = PASSWORD) -> poplib.POP3_SSL:
    """A poplib session on the implicit-TLS listener, logged in with USER/PASS."""
    client = poplib.POP3_SSL("127.0.0.1", host.port("pop3s"), context=client_tls(), timeout=30)
    client.user(user)
    client.pass_(password)
    return client


class Pop3Talk:
    """A POP3 client that shows exactly what the server said, line by line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = b""

    @classmethod
    async def open(cls, port: int, *, tls: bool = False) -> Pop3Talk:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_tls() if tls else None, limit=2**24
        )
        talk = cls(reader, writer)
        talk.greeting = await talk.line()
        assert talk.greeting.startswith(b"+OK"), talk.greeting
        return talk

    @classmethod
    async def logged_in(cls, host: MailHost, user: str = ALICE) -> Pop3Talk:
        """A session on the host's implicit-TLS ("pop3s") listener after USER/PASS."""
        talk = await cls.open(host.port("pop3s"), tls=True)
        assert (await talk.command(f"USER {user}")).startswith(b"+OK")
        reply = await talk.command(f"PASS {PASSWORD}")
        assert reply.startswith(b"+OK"), reply
        return talk

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def line(self) -> bytes:
        """One line from the server, without its CRLF."""
        line = await asyncio.wait_for(self.reader.readline(), 30)
        if not line:
            raise ConnectionError("the server closed the connection")
        assert line.endswith(b"\r\n"), line
        return line[:-2]

    async def command(self, text: str | bytes) -> bytes:
        """Send one command line; its status line."""
        await self.send((text.encode() if isinstance(text, str) else text) + b"\r\n")
        return await self.line()

    async def body(self) -> list[bytes]:
        """The lines of a multi-line answer up to its ".", un-stuffed."""
        lines = []
        while (line := await self.line()) != b".":
            lines.append(line[1:] if line.startswith(b".") else line)
        return lines

    async def multiline(self, text: str | bytes) -> tuple[bytes, list[bytes]]:
        """Send a command answered with several lines: (status line, lines); no lines
        follow an -ERR."""
        status = await self.command(text)
        return status, await self.body() if status.startswith(b"+OK") else []

    async def starttls(self) -> None:
        await self.writer.start_tls(client_tls())

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 30) == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()
