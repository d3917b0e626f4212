"""The browser tests' fixtures: where a test's screenshots go, a headless chromium on a
test host's web listener, and a host whose administrators log in with client
certificates (the legacy phpMyAdmin's way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom.config.example import ListenerExample as Example
from tests.support.browser import Browser, artifacts_for, browser
from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.mail_host import MailHost, start_host
from tests.web.conftest import (
    ADMIN_SETTINGS,
    WEB_LISTENERS,
    web_host,  # noqa: F401 (the host with a web listener)
)

OpenBrowser = Callable[..., AbstractAsyncContextManager[Browser]]

CERTIFICATE_LISTENERS = (*WEB_LISTENERS, Example("admin", "web", 0, "implicit"))
""""web" asks for a client certificate (its login page offers it, the password form
stays); "admin" requires an administrator's at TLS."""


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's directory under test-artifacts/ (emptied of an earlier run's shots)."""
    return artifacts_for(request.node.nodeid)


@pytest.fixture
def host_browser(tmp_path: Path, artifacts: Path) -> OpenBrowser:
    """Opens a headless chromium on a host's web listener ("web" unless told), presenting
    a client certificate if given one, trusting the host's own (self-signed) certificate.
    Each browser of a test has its own HOME; their screenshots share the test's folder."""
    count = 0

    def open_browser(
        host: MailHost, certificate: ClientCertificate | None = None, *, listener: str = "web"
    ) -> AbstractAsyncContextManager[Browser]:
        nonlocal count
        count += 1
        return browser(
            tmp_path / f"browser-{count}",
            f"https://127.0.0.1:{host.port(listener)}",
            artifacts,
            certificate,
            trusted_servers=[host.root / "tls" / "cert.pem"],
        )

    return open_browser


@dataclass
class CertificateWorld:
    """A host whose members' CA is `ca` (CRL at `crl`), with certificates for alice (the
    administrator) and bob (a member)."""

    host: MailHost
    ca: CertificateAuthority
    crl: Path
    alice: ClientCertificate
    bob: ClientCertificate


def certificate_settings(ca: CertificateAuthority, crl: Path) -> dict[str, str]:
    return {
        **ADMIN_SETTINGS,
        '# listeners = ["submission", "imaps"]  # example; default: [] (none)': (
            'listeners = ["web", "admin"]'
        ),
        '# ca_file = "tls/client-ca.pem"  # example; default: none': f'ca_file = "{ca.ca_file}"',
        '# crl_files = ["tls/class1.crl"]  # example; default: []': f'crl_files = ["{crl}"]',
        "# certificate_required_listeners = []": 'certificate_required_listeners = ["admin"]',
    }


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[CertificateWorld]:
    ca = CertificateAuthority.create(tmp_path / "ca")
    crl = ca.write_crl(tmp_path / "ca" / "ca.crl")
    alice = ca.client_certificate("Alice", emails=["alice@example.test"])
    bob = ca.client_certificate("Bob", emails=["bob@example.test"])
    settings = certificate_settings(ca, crl)
    async for host in start_host(tmp_path / "host", settings, CERTIFICATE_LISTENERS):
        yield CertificateWorld(host, ca, crl, alice, bob)
