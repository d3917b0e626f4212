"""Does a listener answer? Connect as a client would (TLS first on an implicit-TLS
port), wait for the protocol's greeting, say goodbye. A TCP connection alone proves
little: the kernel accepts into the listen backlog even when the server is stuck.

For `mailroom check` and `/healthz` (health.py). The certificate is not verified here
(health.py reads the certificate files); any TLS session will do.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time

from mailroom.config import Listener, Protocol, TlsMode
from mailroom.delivery.outbound_tls import opportunistic_tls_context

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - mapped, not bound

_SMTP = ((b"220",), b"QUIT\r\n")
GREETINGS: dict[Protocol, tuple[tuple[bytes, ...], bytes]] = {
    Protocol.SMTP: _SMTP,
    Protocol.SUBMISSION: _SMTP,
    Protocol.IMAP: ((b"* OK", b"* PREAUTH"), b"a LOGOUT\r\n"),
    Protocol.POP3: ((b"+OK",), b"QUIT\r\n"),
    Protocol.MANAGESIEVE: ((b"OK",), b"LOGOUT\r\n"),
    Protocol.WEB: ((b"HTTP/1.",), b""),
}
"""What each protocol's server says first (RFC 5321 §4.2, RFC 9051 §7.1, RFC 1939 §4,
RFC 5804 §1.7 after its capability lines; HTTP answers a request), and the client's
goodbye."""

_WEB_REQUEST = b"HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
MAX_GREETING_LINES = 50
"""ManageSieve greets with its capabilities, one per line, before OK."""


class ListenerDown(Exception):
    """The listener did not answer as its protocol does; the message says how."""


def probe_address(listener: Listener) -> tuple[str, int]:
    """Where to connect to reach `listener`: a wildcard address is reached on loopback."""
    return _WILDCARDS.get(listener.host, listener.host), listener.port


async def answer_time(listener: Listener, seconds: float) -> float:
    """Seconds from connecting to the greeting; ListenerDown if none came in `seconds`."""
    host, port = probe_address(listener)
    implicit = listener.tls is TlsMode.IMPLICIT
    start = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=opportunistic_tls_context() if implicit else None
            )
            try:
                await greeted(listener.protocol, reader, writer)
                elapsed = time.monotonic() - start
                goodbye = GREETINGS[listener.protocol][1]
                if goodbye:
                    writer.write(goodbye)
                    await reader.readline()  # its answer: then it closes, not us
            finally:
                writer.transport.abort()
    except TimeoutError:
        raise ListenerDown(f"no answer in {seconds:g} s") from None
    except ssl.SSLError as error:
        raise ListenerDown(f"no TLS session: {error.reason or error}") from None
    except OSError as error:
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        raise ListenerDown(reason) from None
    return elapsed


async def greeted(
    protocol: Protocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Read the server's greeting; ListenerDown if it is not the protocol's."""
    expected, _ = GREETINGS[protocol]
    if protocol is Protocol.WEB:
        writer.write(_WEB_REQUEST)
    for _ in range(MAX_GREETING_LINES):
        try:
            line = await reader.readline()
        except ValueError:  # asyncio's limit: a line over 64 KiB is no greeting
            raise ListenerDown("answered a line too long") from None
        if not line:
            raise ListenerDown("closed without a greeting")
        if line.startswith(expected):
            return
        if protocol is not Protocol.MANAGESIEVE or line.startswith((b"NO", b"BYE")):
            shown = line[:80].decode("ascii", "replace").strip()
            raise ListenerDown(f"answered {shown!r}")
    raise ListenerDown("no greeting")
