"""The browser harness itself, against the smallest HTTPS site that asks for a client
certificate (CERT_REQUIRED, signed by the test's CA): headless chromium presents the
certificate in its NSS database without a dialog, and gets no page without one or with
one from another CA."""

from __future__ import annotations

import asyncio
import html
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.browser import browser
from tests.support.certificate_authority import CertificateAuthority


class TinySite:
    """An HTTPS server on 127.0.0.1 that answers every request with a page naming the
    client certificate's subject (CN)."""

    def __init__(self, ca: CertificateAuthority) -> None:
        self.context = ca.server_context("127.0.0.1")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(ca.ca_file)
        self.port = 0

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        peer = writer.get_extra_info("peercert") or {}
        names = [
            value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"
        ]
        body = (
            "<!doctype html><title>tiny</title>"
            f'<p id="peer">{html.escape(", ".join(names) or "nobody")}</p>'
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def tiny_site(tmp_path: Path) -> AsyncIterator[tuple[TinySite, CertificateAuthority]]:
    ca = CertificateAuthority.create(tmp_path / "ca")
    site = TinySite(ca)
    server = await asyncio.start_server(site.answer, "127.0.0.1", 0, ssl=site.context)
    site.port = server.sockets[0].getsockname()[1]
    try:
        yield site, ca
    finally:
        server.close()
        await server.wait_closed()


async def test_chromium_presents_the_client_certificate_without_a_dialog(
    tiny_site: tuple[TinySite, CertificateAuthority], tmp_path: Path, artifacts: Path
) -> None:
    site, ca = tiny_site
    alice = ca.client_certificate("Alice", emails=["alice@example.test"])
    async with browser(
        tmp_path / "home",
        f"https://127.0.0.1:{site.port}",
        artifacts,
        alice,
        trusted_cas=[ca.ca_file],
    ) as chromium:
        await chromium.open("/")
        assert await chromium.text("#peer") == "Alice"
    assert sorted(p.name for p in artifacts.glob("*.png")) == ["01-open.png"]


async def test_without_a_certificate_there_is_no_page(
    tiny_site: tuple[TinySite, CertificateAuthority], tmp_path: Path, artifacts: Path
) -> None:
    site, ca = tiny_site
    async with browser(
        tmp_path / "home",
        f"https://127.0.0.1:{site.port}",
        artifacts,
        trusted_cas=[ca.ca_file],
    ) as chromium:
        refusal = await chromium.refusal("/")
        assert refusal is not None, "a page came without a client certificate"
        assert refusal.error.startswith("ERR_"), refusal


async def test_a_certificate_of_another_ca_gets_no_page(
    tiny_site: tuple[TinySite, CertificateAuthority], tmp_path: Path, artifacts: Path
) -> None:
    site, ca = tiny_site
    stranger = CertificateAuthority.create(tmp_path / "stranger", "Someone Else's CA")
    mallory = stranger.client_certificate("Mallory", emails=["alice@example.test"])
    async with browser(
        tmp_path / "home",
        f"https://127.0.0.1:{site.port}",
        artifacts,
        mallory,
        trusted_cas=[ca.ca_file],
    ) as chromium:
        refusal = await chromium.refusal("/")
        assert refusal is not None, "a page came with another CA's certificate"
        assert refusal.error.startswith("ERR_"), refusal
