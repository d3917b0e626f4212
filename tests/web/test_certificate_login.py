"""Logging in to the web with a client certificate, over the real host's TLS: checked
by the host's ClientCertificates (dates, CA, CRL) and mapped by CertificateLogin's rules,
an administrator iff in `[web] administrators`. On "web" the certificate is asked for and
the login page offers it; "admin" is in `certificate_required_listeners`: no certificate,
another CA's, a revoked one or a member's gets no page at all."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import httpx
import pytest

from mailroom.config import load_config
from mailroom.net import CertificateError, TlsContexts
from tests.support.certificate_authority import CertificateAuthority
from tests.support.mail_host import PASSWORD, write_config
from tests.web.conftest import CERTIFICATE_LISTENERS as LISTENERS
from tests.web.conftest import CertificateWorld as World
from tests.web.conftest import certificate_settings
from tests.web.test_login import csrf_token, log_in


@pytest.fixture
def world(certificate_world: World) -> World:
    return certificate_world


async def log_in_with_certificate(client: httpx.AsyncClient) -> httpx.Response:
    form = await client.get("/login")
    assert 'id="certificate-login"' in form.text
    return await client.post(
        "/login/certificate", data={"csrf_token": csrf_token(form), "next": "/admin/audit"}
    )


async def test_an_administrator_logs_in_with_the_certificate(world: World) -> None:
    async with world.client("web", world.alice) as client:
        answer = await log_in_with_certificate(client)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/audit"
        assert (await client.get("/admin/audit")).status_code == 200


async def test_a_members_certificate_logs_in_a_member(world: World) -> None:
    async with world.client("web", world.bob) as client:
        assert (await log_in_with_certificate(client)).status_code == 303
        home = await client.get("/")
        assert home.status_code == 200 and "bob@example.test" in home.text
        assert (await client.get("/admin/audit")).status_code == 403


async def test_a_revoked_certificate_is_refused(world: World) -> None:
    world.ca.write_crl(world.crl, revoked=[world.alice.serial])
    async with world.client("web", world.alice) as client:
        answer = await log_in_with_certificate(client)
        assert answer.status_code == 401 and 'id="certificate-failed"' in answer.text
        assert (await client.get("/admin/audit")).status_code == 303


async def test_an_expired_certificate_is_refused(world: World) -> None:
    now = datetime.datetime.now(datetime.UTC)
    old = world.ca.client_certificate(
        "Alice",
        emails=["alice@example.test"],
        not_before=now - datetime.timedelta(days=2),
        not_after=now - datetime.timedelta(hours=1),
    )
    async with world.client("web", old) as client:
        assert (await log_in_with_certificate(client)).status_code == 401


async def test_without_a_certificate_the_password_form_is_all(world: World) -> None:
    async with world.client("web", None) as client:
        form = await client.get("/login")
        assert 'id="certificate-login"' not in form.text
        answer = await client.post("/login/certificate", data={"csrf_token": csrf_token(form)})
        assert answer.status_code == 403 and 'id="no-certificate"' in answer.text
        assert (await log_in(client, "bob@example.test", PASSWORD)).status_code == 303


async def test_the_admin_listener_logs_an_administrator_in_by_the_certificate(
    world: World,
) -> None:
    async with world.client("admin", world.alice) as client:
        home = await client.get("/")
        assert home.status_code == 200 and "alice@example.test" in home.text
        assert (await client.get("/admin/audit")).status_code == 200
        refused = await client.post(
            "/login",
            data={
                "csrf_token": csrf_token(home),
                "login": "bob@example.test",
                "password": PASSWORD,
            },
        )
        assert refused.status_code == 403  # the certificate is the only login here
        assert "alice@example.test" in (await client.get("/")).text


async def test_the_admin_listener_fails_the_handshake_without_a_certificate(
    world: World,
) -> None:
    async with world.client("admin", None) as client:
        with pytest.raises(httpx.TransportError):
            await client.get("/")


async def test_the_admin_listener_fails_the_handshake_for_another_ca(
    world: World, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "other", "Other CA")
    forged = stranger.client_certificate("Alice", emails=["alice@example.test"])
    async with world.client("admin", forged) as client:
        with pytest.raises(httpx.TransportError):
            await client.get("/")


async def test_the_admin_listener_answers_a_revoked_certificate_nothing(world: World) -> None:
    world.ca.write_crl(world.crl, revoked=[world.alice.serial])
    async with world.client("admin", world.alice) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


async def test_the_admin_listener_answers_a_members_certificate_nothing(world: World) -> None:
    async with world.client("admin", world.bob) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/login")


@pytest.mark.parametrize(
    ("asking", "required", "message"),
    [
        ('["web"]', '["admin"]', "'admin', which is not in \\[client_certificates\\] listeners"),
        ('["web"]', '["nothing"]', "'nothing', which is no listener"),
        ('["smtps", "web"]', '["smtps"]', "'smtps', a submission listener"),
    ],
)
def test_a_listener_that_cannot_require_certificates_is_refused_at_start(
    tmp_path: Path, asking: str, required: str, message: str
) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca")
    settings = certificate_settings(ca, ca.write_crl(tmp_path / "ca.crl"), required)
    settings['# listeners = ["submission", "imaps"]  # example; default: [] (none)'] = (
        f"listeners = {asking}"
    )
    config = load_config(write_config(tmp_path, settings, LISTENERS))
    with pytest.raises(CertificateError, match=message):
        TlsContexts(config)


def test_the_admin_listener_requires_a_certificate_at_tls(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca")
    settings = certificate_settings(ca, ca.write_crl(tmp_path / "ca.crl"), '["admin"]')
    contexts = TlsContexts(load_config(write_config(tmp_path, settings, LISTENERS)))
    assert contexts.for_listener("admin").verify_mode is ssl.CERT_REQUIRED
    assert contexts.for_listener("web").verify_mode is ssl.CERT_OPTIONAL
    assert contexts.for_listener("smtps").verify_mode is ssl.CERT_NONE
    assert contexts.reload()
