"""The browser tests' fixtures: where a test's screenshots go, and a headless chromium on
a test host's web listener. The hosts are tests/web's: `web_host`, and
`certificate_world`, whose "web" listener asks for a client certificate and whose
"admin" listener requires an administrator's (the legacy phpMyAdmin's way)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.support.browser import Browser, artifacts_for, browser
from tests.support.certificate_authority import ClientCertificate
from tests.support.mail_host import MailHost
from tests.web.conftest import (
    CertificateWorld,
    certificate_world,  # noqa: F401 (a fixture)
    web_host,  # noqa: F401 (a fixture: the host with a web listener)
)

OpenBrowser = Callable[..., AbstractAsyncContextManager[Browser]]


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


@pytest.fixture
def world(certificate_world: CertificateWorld) -> CertificateWorld:  # noqa: F811
    """tests/web's `certificate_world`: "web" asks for a client certificate, "admin"
    requires an administrator's; alice's and bob's certificates."""
    return certificate_world
