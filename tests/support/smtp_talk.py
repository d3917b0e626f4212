"""A line-level SMTP client for conversations no library would hold: pipelined
commands, bytes after STARTTLS, bare line feeds, BDAT chunks."""

from __future__ import annotations

import asyncio
import re
import ssl

QUEUED = re.compile(r"queued as (\S+)")
"""The queue id in a `250` after DATA or BDAT LAST."""


class Talk:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, *, tls: ssl.SSLContext | None = None) -> Talk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
        talk = cls(reader, writer)
        code, _ = await talk.reply()
        assert code == 220
        return talk

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self) -> tuple[int, str]:
        """One whole reply: its code and its lines' text joined by newlines."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 30)
            if not line:
                raise ConnectionError("the server closed the connection")
            lines.append(line[4:].decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    async def command(self, line: str) -> tuple[int, str]:
        await self.send(line.encode() + b"\r\n")
        return await self.reply()

    async def starttls(self, context: ssl.SSLContext) -> None:
        await self.writer.start_tls(context)

    async def closed(self) -> bool:
        """Whether the server has closed the connection (reads to the end)."""
        return await asyncio.wait_for(self.reader.read(), 30) == b""

    def close(self) -> None:
        self.writer.close()

    async def send_message(self, recipients: list[str], token: str, *, bdat: bool = False) -> str:
        """EHLO, one message from carol@outside.example to `recipients` (its subject
        `token`) by DATA or BDAT, QUIT and close; the queue id its 250 names."""
        assert (await self.command("EHLO client.outside.example"))[0] == 250
        assert (await self.command("MAIL FROM:<carol@outside.example>"))[0] == 250
        for recipient in recipients:
            assert (await self.command(f"RCPT TO:<{recipient}>"))[0] == 250
        body = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
        if bdat:
            await self.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        else:
            assert (await self.command("DATA"))[0] == 354
            await self.send(body + b".\r\n")
        code, text = await self.reply()
        assert code == 250, text
        await self.command("QUIT")
        self.close()
        match = QUEUED.search(text)
        assert match, text
        return match.group(1)
