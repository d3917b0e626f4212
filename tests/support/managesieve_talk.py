"""ManageSieve in tests: the listeners of a host that serves it (4190-style with
STARTTLS, and a 2001-style one without TLS for the "webmail" address only), a
line-level client that shows exactly what the server said, and the ways to run
Debian's `sieve-connect` and sievelib's client against the host.

sievelib's client blocks: tests run it in a thread (`asyncio.to_thread`) so that the
host, on the test's event loop, goes on serving."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import ssl
from dataclasses import dataclass, field

from mailroom.config.example import ListenerExample
from tests.support.mail_host import LISTENERS, PASSWORD, MailHost, client_tls

ALICE = "alice@example.test"
WEBMAIL = "127.0.0.1"
"""The address the 2001-style listener lets in (and trusts with plain-text passwords);
127.0.0.2, loopback too, plays a member's machine outside `allow_networks`."""
OUTSIDER = "127.0.0.2"

MANAGESIEVE_LISTENERS = (
    *LISTENERS,
    ListenerExample("sieve", "managesieve", 0, "starttls"),
    ListenerExample("sieve-webmail", "managesieve", 0, "none"),
)
WEBMAIL_SETTINGS = {
    'name = "sieve-webmail"': (
        'name = "sieve-webmail"\n'
        f'allow_networks = ["{WEBMAIL}/32"]\nplaintext_networks = ["{WEBMAIL}/32"]'
    ),
}
"""The 2001-style listener's networks, added to its block of the test config."""

_LITERAL = re.compile(rb"\{(\d+)\+?\}\Z")
_STATUS = re.compile(rb"(OK|NO|BYE)(?:\s|\Z)")


def plain(user: str = ALICE, password: str = PASSWORD, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


@dataclass
class Response:
    """The lines before a status line (literals joined to their line) and the status."""

    lines: list[bytes] = field(default_factory=list)
    status: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status.startswith(b"OK")

    @property
    def kind(self) -> bytes:
        return self.status.split(b" ", 1)[0]


class SieveTalk:
    """A ManageSieve client that shows exactly what the server said."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.greeting = Response()

    @classmethod
    async def open(cls, port: int, *, local: str | None = None) -> SieveTalk:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(local, 0) if local else None, limit=2**24
        )
        talk = cls(reader, writer)
        talk.greeting = await talk.response()
        assert talk.greeting.ok, talk.greeting
        return talk

    @classmethod
    async def logged_in(cls, host: MailHost, user: str = ALICE) -> SieveTalk:
        """A session on the STARTTLS listener after STARTTLS and AUTHENTICATE PLAIN."""
        talk = await cls.open(host.port("sieve"))
        assert (await talk.starttls()).ok
        reply = await talk.command(f'AUTHENTICATE "PLAIN" "{plain(user)}"')
        assert reply.ok, reply
        return talk

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def line(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), 30)
        if not line:
            raise ConnectionError("the server closed the connection")
        assert line.endswith(b"\r\n"), line
        return line[:-2]

    async def response(self) -> Response:
        """Lines up to the status line; a literal `{n}` is read and joined to its line
        (a literal at the start of a line is data, as GETSCRIPT's script)."""
        response = Response()
        while True:
            line = await self.line()
            literal = _LITERAL.search(line)
            before = line[: literal.start()] if literal else line
            if literal:
                size = int(literal.group(1))
                data = await asyncio.wait_for(self.reader.readexactly(size), 30)
                line = before + data + await self.line()
            if before and _STATUS.match(before):
                response.status = line
                return response
            response.lines.append(line)

    async def command(self, text: str | bytes) -> Response:
        await self.send((text.encode() if isinstance(text, str) else text) + b"\r\n")
        return await self.response()

    async def starttls(self) -> Response:
        """STARTTLS, the handshake, and the capabilities the server sends again."""
        reply = await self.command("STARTTLS")
        if not reply.ok:
            return reply
        await self.writer.start_tls(client_tls())
        return await self.response()

    async def put(self, name: str, script: bytes) -> Response:
        return await self.command(
            b'PUTSCRIPT "%s" {%d+}\r\n%s' % (name.encode(), len(script), script)
        )

    async def closed(self) -> bytes:
        """Wait for the server to end the connection; what it still sent."""
        try:
            return await asyncio.wait_for(self.reader.read(), 30)
        except (ConnectionError, ssl.SSLError):
            return b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


def capabilities(response: Response) -> dict[str, str | None]:
    """The capability lines of a greeting (or of CAPABILITY, or after STARTTLS)."""
    found: dict[str, str | None] = {}
    for line in response.lines:
        parts = re.findall(rb'"((?:[^"\\]|\\.)*)"', line)
        found[parts[0].decode()] = parts[1].decode() if len(parts) > 1 else None
    return found


@dataclass
class Run:
    returncode: int
    output: str


async def sieve_connect(host: MailHost, *arguments: str, user: str = ALICE) -> Run:
    """Debian's sieve-connect against the STARTTLS listener, non-interactive: the
    password on a pipe (`--passwordfd`), the host's self-signed certificate accepted."""
    read_end, write_end = os.pipe()
    os.write(write_end, PASSWORD.encode() + b"\n")
    os.close(write_end)
    try:
        process = await asyncio.create_subprocess_exec(
            "sieve-connect",
            "--server", "127.0.0.1",
            "--port", str(host.port("sieve")),
            "--nosrv",
            "--user", user,
            "--passwordfd", str(read_end),
            "--notlsverify",
            "--noclearauth",
            *arguments,
            pass_fds=(read_end,),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    finally:
        os.close(read_end)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return Run(process.returncode or 0, output.decode(errors="replace"))
