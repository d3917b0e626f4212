"""The browser tests' fixtures: where a test's screenshots go, and a headless chromium on
the test host's web listener."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.support.browser import Browser, artifacts_for, browser
from tests.support.certificate_authority import ClientCertificate
from tests.support.mail_host import MailHost
from tests.web.conftest import web_host  # noqa: F401 (the host with a web listener)

OpenBrowser = Callable[..., AbstractAsyncContextManager[Browser]]


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's directory under test-artifacts/ (emptied of an earlier run's shots)."""
    return artifacts_for(request.node.nodeid)


@pytest.fixture
def host_browser(tmp_path: Path, artifacts: Path) -> OpenBrowser:
    """Opens a headless chromium on a host's web listener ("web"), presenting a client
    certificate if given one, trusting the host's own (self-signed) certificate. Each
    browser of a test has its own HOME; their screenshots share the test's directory."""
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
