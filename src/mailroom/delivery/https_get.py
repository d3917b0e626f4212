"""One HTTPS GET, for MTA-STS policies (RFC 8461 §3.3): asyncio and ssl directly.

No HTTP client is among Mailroom's dependencies, and this needs one request of one
small text file: the request is HTTP/1.0 (so the answer is never chunked) with
`Connection: close`; redirects are not followed (RFC 8461 §3.3 forbids it), the body
is bounded, and the certificate is verified against the policy host's name. The
response is parsed by `parse_http_response`, a pure function that trusts nothing.
The host's address and port are the caller's (resolved through Mailroom's own DNS
servers), so tests stay on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass

MAX_HEADER_BYTES = 16 * 1024

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2})(?: [\x20-\x7e\t]*)?")
_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class FetchError(Exception):
    """The resource could not be fetched; says why."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    """Lower-case names; of a repeated field, the first value."""
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_http_response(data: bytes, max_body: int) -> HttpResponse:
    """A complete HTTP/1.x response (everything the server sent before closing);
    FetchError if it is not one, or its body is longer than `max_body`."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator or len(head) > MAX_HEADER_BYTES:
        raise FetchError("no complete HTTP header section")
    status_line, *lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise FetchError("not an HTTP/1.x status line")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise FetchError("malformed header field")
        headers.setdefault(name.decode().lower(), value.strip(b" \t").decode("latin-1"))
    if "transfer-encoding" in headers:
        raise FetchError("transfer codings are not accepted (the request was HTTP/1.0)")
    length = headers.get("content-length")
    if length is not None:
        if not re.fullmatch(r"[0-9]{1,12}", length):
            raise FetchError("malformed Content-Length")
        if int(length) > max_body:
            raise FetchError(f"the body is larger than {max_body} bytes")
        if len(body) < int(length):
            raise FetchError("the body ended early")
        body = body[: int(length)]
    if len(body) > max_body:
        raise FetchError(f"the body is larger than {max_body} bytes")
    return HttpResponse(int(match.group(1)), headers, body)


async def https_get(
    address: str,
    port: int,
    host: str,
    path: str,
    context: ssl.SSLContext,
    *,
    max_body: int,
    seconds: float = 60.0,
) -> HttpResponse:
    """GET `path` from `host` at `address`:`port` over TLS (the certificate must be valid
    for `host` under `context`). FetchError for anything that is not a response."""
    request = (
        f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: Mailroom\r\n"
        "Accept: text/plain\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    limit = MAX_HEADER_BYTES + 4 + max_body
    received = bytearray()
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(
                address, port, ssl=context, server_hostname=host
            )
            try:
                writer.write(request)
                await writer.drain()
                while len(received) <= limit:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    received += chunk
            finally:
                writer.close()
    except TimeoutError:
        raise FetchError(f"no answer from {host}[{address}]:{port} in {seconds:.0f} s") from None
    except ssl.SSLError as error:
        if not received:
            raise FetchError(f"TLS with {host}[{address}]:{port} failed: {error}") from None
        # A server that closes without close_notify: the body is checked below.
    except OSError as error:
        raise FetchError(
            f"connect to {host}[{address}]:{port}: {error.strerror or error}"
        ) from None
    if len(received) > limit:
        raise FetchError(f"the answer is larger than {limit} bytes")
    return parse_http_response(bytes(received), max_body)
