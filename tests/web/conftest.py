"""A running host with a web listener (implicit TLS, the host's self-signed certificate)
and alice@example.test as its administrator; `certificate_world`: the same with a test
CA whose certificates "web" asks for and "admin" requires (an administrator's only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mailroom.config.example import ListenerExample as Example
from mailroom.web.guard import Guard
from mailroom.web.server import WebServer
from mailroom.web.sessions import SessionStore
from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.mail_host import LISTENERS, MailHost, client_tls, start_host

WEB_LISTENERS = (*LISTENERS, Example("web", "web", 0, "implicit"))
ADMIN_SETTINGS = {
    "# administrators = []": 'administrators = ["alice@example.test"]',
    # The admin pages' tests log alice in with her password alone; TOTP's own tests
    # (test_totp.py) turn the shipped default back on.
    "# totp_for_administrators = true": "totp_for_administrators = false",
}


@pytest.fixture
async def web_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path, ADMIN_SETTINGS, WEB_LISTENERS):
        yield host


def web_client(host: MailHost) -> httpx.AsyncClient:
    """A browser-like client of the host's web listener (keeps cookies; the host's
    certificate is self-signed)."""
    return httpx.AsyncClient(
        base_url=f"https://127.0.0.1:{host.port('web')}", verify=False, follow_redirects=False
    )


def web_sessions(host: MailHost, listener: str = "web") -> SessionStore:
    """The session store of a web listener of the running host (a test moves its clock)."""
    for server in host.running.servers:
        if isinstance(server, WebServer) and server.listener.name == listener:
            assert isinstance(server.app, Guard)
            return server.app.sessions
    raise AssertionError(f"no web listener {listener}")


# -- client certificates: "web" asks for one, "admin" requires an administrator's ------

CERTIFICATE_LISTENERS = (*WEB_LISTENERS, Example("admin", "web", 0, "implicit"))


def certificate_settings(ca: CertificateAuthority, crl: Path, required: str) -> dict[str, str]:
    """`[client_certificates]` asking on "web" and "admin", `required` (a TOML list) in
    `[web] certificate_required_listeners`."""
    return {
        **ADMIN_SETTINGS,
        '# listeners = ["submission", "imaps"]  # example; default: [] (none)': (
            'listeners = ["web", "admin"]'
        ),
        '# ca_file = "tls/client-ca.pem"  # example; default: none': f'ca_file = "{ca.ca_file}"',
        '# crl_files = ["tls/class1.crl"]  # example; default: []': f'crl_files = ["{crl}"]',
        "# certificate_required_listeners = []": f"certificate_required_listeners = {required}",
    }


@dataclass
class CertificateWorld:
    host: MailHost
    ca: CertificateAuthority
    crl: Path
    alice: ClientCertificate
    bob: ClientCertificate

    def client(self, listener: str, certificate: ClientCertificate | None) -> httpx.AsyncClient:
        context = certificate.context() if certificate is not None else client_tls()
        return httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{self.host.port(listener)}",
            verify=context,
            follow_redirects=False,
        )


@pytest.fixture
async def certificate_world(tmp_path: Path) -> AsyncIterator[CertificateWorld]:
    ca = CertificateAuthority.create(tmp_path / "ca")
    crl = ca.write_crl(tmp_path / "ca" / "ca.crl")
    alice = ca.client_certificate("Alice", emails=["alice@example.test"])
    bob = ca.client_certificate("Bob", emails=["bob@example.test"])
    settings = certificate_settings(ca, crl, '["admin"]')
    async for host in start_host(tmp_path / "host", settings, CERTIFICATE_LISTENERS):
        yield CertificateWorld(host, ca, crl, alice, bob)
