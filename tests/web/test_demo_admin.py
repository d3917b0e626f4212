"""The demo's way into the web admin, as the README tells it: `mailroom init --demo`
writes a demo CA and alice's client certificate (PKCS#12 and PEM), asks for it on the
web listener, and lets alice enrol TOTP after her password. The installation is made by
the real command and served by the real host (on free ports instead of 8080)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from mailroom import app
from mailroom.config import load_config
from tests.support.installation import Installation, make_installation
from tests.support.mail_host import client_tls
from tests.web.test_login import csrf_token, log_in


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Installation, int]]:
    # The commands run their own event loops: in a thread, beside the test's.
    site = await asyncio.to_thread(make_installation, tmp_path / "demo", "--demo")
    text = re.sub(
        r'\naddress = "127\.0\.0\.1:[0-9]+"', '\naddress = "127.0.0.1:0"', site.config.read_text()
    )
    site.config.write_text(text)
    assert (await asyncio.to_thread(site.run, "domain", "add", "example.test")).returncode == 0
    for account in ("alice@example.test", "bob@example.test"):
        added = await asyncio.to_thread(
            site.run, "user", "add", account, "--password-stdin", stdin="demo\n"
        )
        assert added.returncode == 0, added.stderr
    ready: asyncio.Future[app.RunningHost] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def started(running: app.RunningHost) -> None:
        ready.set_result(running)

    config = load_config(site.config)
    task = asyncio.create_task(app.serve(config, lambda line: None, started=started, stop=stop))
    done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    try:
        yield site, ready.result().port("web")
    finally:
        stop.set()
        await task


def browser(port: int, site: Installation | None = None) -> httpx.AsyncClient:
    context = client_tls()  # the demo's certificate is self-signed
    if site is not None:
        tls = site.root / "tls"
        context.load_cert_chain(tls / "alice-cert.pem", tls / "alice-key.pem")
    return httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=context)


def test_the_pkcs12_file_opens_with_the_demo_password(tmp_path: Path) -> None:
    site = make_installation(tmp_path / "demo", "--demo")
    key, certificate, authorities = pkcs12.load_key_and_certificates(
        (site.root / "tls" / "alice.p12").read_bytes(), b"demo"
    )
    assert key is not None and certificate is not None
    assert "alice@example.test" in certificate.subject.rfc4514_string()
    assert [ca.subject.rfc4514_string() for ca in authorities] == ["CN=Mailroom Demo CA"]
    assert (site.root / "tls" / "alice.p12").stat().st_mode & 0o077 == 0


async def test_alice_logs_in_to_the_demo_with_her_certificate(
    demo: tuple[Installation, int],
) -> None:
    site, port = demo
    async with browser(port, site) as client:
        form = await client.get("/login")
        assert 'id="certificate-login"' in form.text
        answer = await client.post(
            "/login/certificate", data={"csrf_token": csrf_token(form), "next": "/admin/audit"}
        )
        assert answer.status_code == 303
        assert (await client.get("/admin/audit")).status_code == 200


async def test_alice_logs_in_to_the_demo_with_password_and_totp(
    demo: tuple[Installation, int],
) -> None:
    _, port = demo
    async with browser(port) as client:
        answer = await log_in(client, "alice@example.test", "demo")
        assert answer.headers["location"] == "/totp"
        start = await client.get("/totp")
        await client.post("/totp/start", data={"csrf_token": csrf_token(start)})
        enrolment = await client.get("/totp")
        uri = re.search(r'id="totp-uri" href="([^"]+)"', enrolment.text)
        assert uri is not None
        secret = parse_qs(urlsplit(uri.group(1).replace("&amp;", "&")).query)["secret"][0]
        code = pyotp.TOTP(secret).at(time.time())
        await client.post("/totp/confirm", data={"csrf_token": csrf_token(enrolment), "code": code})
        assert (await client.get("/admin/audit")).status_code == 200
