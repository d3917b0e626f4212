"""A running host with a web listener (implicit TLS, the host's self-signed certificate)
and alice@example.test as its administrator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mailroom.config.example import ListenerExample as Example
from mailroom.web.guard import Guard
from mailroom.web.server import WebServer
from mailroom.web.sessions import SessionStore
from tests.support.mail_host import LISTENERS, MailHost, start_host

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
