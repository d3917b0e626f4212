"""The server's own TLS 1.2 minimum, tested where it is the only thing refusing TLS 1.1.

Today TLS 1.0/1.1 are refused four times over: Python's default minimum, OpenSSL's
security level (no SHA-1 handshake signatures), the TLS-1.2-only cipher list and
`server_context`'s own `minimum_version`. test_listener.py shows the listener refuses;
a test with all four in place would still pass with the explicit minimum removed, and the
other three are platform defaults (or a cipher list someone may widen). So here the other
three are lowered on purpose, and a control shows that then TLS 1.1 does get through when
the minimum is lowered too: the refusal seen is the minimum's own."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

from mailroom.net import tls
from mailroom.net.certificates import write_self_signed_certificate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TLS 1.0/1.1 on purpose


class PermissiveContext(ssl.SSLContext):
    """A context as a permissive platform would make it: security level 0, and the CBC
    suites TLS 1.0/1.1 can use added to any cipher list."""

    def set_ciphers(self, ciphers: str, /) -> None:
        super().set_ciphers(ciphers + ":ECDHE+AES:@SECLEVEL=0")


class PermissiveSsl:
    """Stands in for the ssl module inside mailroom.net.tls: contexts allow TLS 1.0 by
    default (as before Python 3.10), everything else is the real module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def SSLContext(protocol: ssl._SSLMethod) -> ssl.SSLContext:
        context = PermissiveContext(protocol)
        context.minimum_version = ssl.TLSVersion.TLSv1
        return context


@pytest.fixture
def permissive_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """`server_context` as built on a platform whose defaults allow TLS 1.0/1.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed_certificate(cert, key, "mail.example.test")
    monkeypatch.setattr(tls, "ssl", PermissiveSsl())
    return tls.server_context(cert, key)


@pytest.fixture
def tls_1_1_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """The version the client negotiates with `server` over loopback (or its SSLError)."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]

        def serve() -> None:
            accepted, _ = listening.accept()
            # The server side's handshake failure is the client's to report.
            with accepted, contextlib.suppress(ssl.SSLError, OSError):
                server.wrap_socket(accepted, server_side=True).close()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=30)
            with raw, client.wrap_socket(raw) as wrapped:
                return str(wrapped.version())
        finally:
            thread.join()


def test_only_the_servers_minimum_refuses_tls_1_1(
    permissive_server: ssl.SSLContext, tls_1_1_client: ssl.SSLContext
) -> None:
    assert permissive_server.minimum_version is ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
        handshake(permissive_server, tls_1_1_client)


def test_the_control_tls_1_1_gets_through_once_the_minimum_is_lowered(
    permissive_server: ssl.SSLContext, tls_1_1_client: ssl.SSLContext
) -> None:
    # Shows the test above is not vacuous on this platform: with the other defences
    # lowered, the minimum is all that stands between a TLS 1.1 client and the server.
    permissive_server.minimum_version = ssl.TLSVersion.TLSv1
    assert handshake(permissive_server, tls_1_1_client) == "TLSv1.1"
