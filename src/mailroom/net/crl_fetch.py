"""One bounded HTTP GET of a CRL from a certificate's distribution point (RFC 5280
§4.2.1.13: an `http://` URI serving a DER CRL, RFC 5280 §4.2.1.13 / RFC 2585 §3).

Plain HTTP is what CAs publish CRLs on (the CRL is signed, so TLS adds nothing), and
the request is HTTP/1.0 with `Connection: close`, so the answer is never chunked and ends
when the server closes. Everything is bounded: the URL's length, the whole exchange's
time, the header section and the body. Redirects are not followed.

Hand-written because Mailroom has no HTTP client among its dependencies and `net` may
not use `delivery.https_get` (the package table): this is the same one-request shape,
for plain HTTP and binary bodies. `parse_crl_url` and `parse_response` are pure and
trust nothing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

MAX_URL_LENGTH = 2048
MAX_HEADER_BYTES = 16 * 1024
READ_CHUNK = 64 * 1024

_URL = re.compile(
    r"http://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[!$&'()*+,;=:@%/A-Za-z0-9._~-]*)?",
    re.ASCII,
)
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2})(?: [\x20-\x7e\t]*)?")
_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class CrlFetchError(Exception):
    """The CRL could not be fetched; says why."""


@dataclass(frozen=True)
class CrlUrl:
    host: str
    """A name or an IP address (without brackets)."""
    port: int
    path: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"


def parse_crl_url(text: str) -> CrlUrl:
    """An `http://host[:port][/path]` URL; CrlFetchError for anything else (https,
    ldap, user info, a query or fragment, a port out of range)."""
    if len(text) > MAX_URL_LENGTH:
        raise CrlFetchError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    match = _URL.fullmatch(text)
    if match is None:
        raise CrlFetchError(f"{text[:80]!r} is not an http:// URL this server fetches")
    port = int(match.group("port") or 80)
    if not 0 < port < 65536:
        raise CrlFetchError(f"port {port} is out of range")
    host = match.group("host").removeprefix("[").removesuffix("]")
    return CrlUrl(host, port, match.group("path") or "/")


def parse_response(data: bytes, max_body: int) -> bytes:
    """The body of a complete `200` HTTP/1.x response (all the server sent before it
    closed); CrlFetchError for any other status, a malformed head, a transfer coding,
    a body longer than `max_body` or shorter than its Content-Length."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator or len(head) > MAX_HEADER_BYTES:
        raise CrlFetchError("no complete HTTP header section")
    status_line, *lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise CrlFetchError("not an HTTP/1.x status line")
    if match.group(1) != b"200":
        raise CrlFetchError(f"the server answered {match.group(1).decode()}")
    length: bytes | None = None
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise CrlFetchError("malformed header field")
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            raise CrlFetchError("transfer codings are not accepted (the request was HTTP/1.0)")
        if lowered == b"content-length" and length is None:
            length = value.strip(b" \t")
    if length is not None:
        if not re.fullmatch(rb"[0-9]{1,12}", length):
            raise CrlFetchError("malformed Content-Length")
        if int(length) > max_body:
            raise CrlFetchError(f"the CRL is larger than {max_body} bytes")
        if len(body) < int(length):
            raise CrlFetchError("the body ended early")
        body = body[: int(length)]
    if len(body) > max_body:
        raise CrlFetchError(f"the CRL is larger than {max_body} bytes")
    return body


async def fetch_crl(url: CrlUrl, *, time_limit: float, max_body: int) -> bytes:
    """GET `url` within `time_limit` seconds; the body (at most `max_body` bytes)."""
    try:
        async with asyncio.timeout(time_limit):
            return await _get(url, max_body)
    except TimeoutError:
        raise CrlFetchError(f"no complete answer within {time_limit:g} s") from None
    except OSError as error:
        raise CrlFetchError(f"cannot fetch: {error}") from None


async def _get(url: CrlUrl, max_body: int) -> bytes:
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        host = f"[{url.host}]" if ":" in url.host else url.host
        writer.write(
            f"GET {url.path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/pkix-crl\r\n"
            "User-Agent: Mailroom\r\nConnection: close\r\n\r\n".encode("ascii")
        )
        await writer.drain()
        limit = MAX_HEADER_BYTES + 4 + max_body
        data = bytearray()
        while chunk := await reader.read(READ_CHUNK):
            data += chunk
            if len(data) > limit:
                raise CrlFetchError(f"the CRL is larger than {max_body} bytes")
        return parse_response(bytes(data), max_body)
    finally:
        writer.close()
