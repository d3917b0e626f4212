"""IMAP in tests: the listeners of a host that serves IMAP, and a line-level IMAP client.

Tests are conversations: `reply = await client.command("SELECT INBOX")`, then the
untagged lines and the tagged status are checked as the client sees them."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass

from mailroom.config.example import ListenerExample
from tests.support.mail_host import LISTENERS, PASSWORD, MailHost, client_tls

IMAP_LISTENERS = (
    *LISTENERS,
    ListenerExample("imap", "imap", 0, "starttls"),
    ListenerExample("imaps", "imap", 0, "implicit"),
)
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n\Z")


@dataclass
class ImapReply:
    untagged: list[bytes]
    """Untagged lines (with their literals inline), without the trailing CRLF."""
    tagged: bytes

    @property
    def status(self) -> str:
        return self.tagged.split(b" ", 2)[1].decode()

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def lines(self, prefix: str) -> list[str]:
        """Untagged lines starting with `* <prefix>` (decoded), without the `* `."""
        wanted = f"* {prefix}".encode()
        return [
            line[2:].decode("utf-8", "replace") for line in self.untagged if line.startswith(wanted)
        ]

    def text(self) -> str:
        return "\n".join(line.decode("utf-8", "replace") for line in self.untagged)


class ImapTalk:
    """An IMAP client that shows exactly what the server said."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = b""
        self._tags = 0

    @classmethod
    async def open(cls, port: int, *, tls: ssl.SSLContext | None = None) -> ImapTalk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls, limit=2**24)
        talk = cls(reader, writer)
        talk.greeting = await talk.read_response()
        assert talk.greeting.startswith(b"* OK"), talk.greeting
        return talk

    @classmethod
    async def logged_in(cls, port: int, user: str = "alice@example.test") -> ImapTalk:
        talk = await cls.open(port, tls=client_tls())
        reply = await talk.command(f'LOGIN {user} "{PASSWORD}"')
        assert reply.ok, reply.tagged
        return talk

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_response(self) -> bytes:
        """One response line, with any literals it carries, without the final CRLF."""
        out = b""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 30)
            if not line:
                raise ConnectionError("the server closed the connection")
            out += line
            match = _LITERAL.search(line)
            if match is None:
                return out[:-2] if out.endswith(b"\r\n") else out
            out += await asyncio.wait_for(self.reader.readexactly(int(match.group(1))), 30)

    def next_tag(self) -> str:
        self._tags += 1
        return f"a{self._tags}"

    async def command(self, text: str | bytes) -> ImapReply:
        tag = self.next_tag()
        data = text.encode() if isinstance(text, str) else text
        await self.send(tag.encode() + b" " + data + b"\r\n")
        return await self.reply(tag)

    async def reply(self, tag: str) -> ImapReply:
        untagged: list[bytes] = []
        while True:
            line = await self.read_response()
            if line.startswith(tag.encode() + b" "):
                return ImapReply(untagged, line)
            untagged.append(line)

    async def append(self, mailbox: str, data: bytes, arguments: str = "") -> ImapReply:
        """APPEND `data` to `mailbox` as a non-synchronizing literal (RFC 7888 LITERAL+);
        `arguments` (flags, internal date) go before it. The reply is not checked."""
        tag = self.next_tag()
        head = f"{tag} APPEND {mailbox} {arguments} " if arguments else f"{tag} APPEND {mailbox} "
        await self.send(f"{head}{{{len(data)}+}}\r\n".encode() + data + b"\r\n")
        return await self.reply(tag)

    async def starttls(self) -> None:
        await self.writer.start_tls(client_tls())

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 30) == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


async def login(host: MailHost, user: str = "alice@example.test") -> ImapTalk:
    """A session on the host's implicit-TLS ("imaps") listener, logged in as `user`."""
    return await ImapTalk.logged_in(host.port("imaps"), user)
