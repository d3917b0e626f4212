"""Logging in with a client certificate in chromium, picked without a dialog: on the
admin listener the certificate is the login; on the members' listener the login page
offers it. A missing certificate, another CA's, a revoked one or a member's gets no page
at all from the admin listener."""

from __future__ import annotations

import datetime
from pathlib import Path

from tests.browser.conftest import OpenBrowser
from tests.browser.steps import no_page
from tests.support.certificate_authority import CertificateAuthority
from tests.web.conftest import CertificateWorld


async def test_on_the_admin_listener_the_certificate_is_the_login(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        assert await chromium.open("/admin/audit") == "/admin/audit"
        assert await chromium.text(".who") == "alice@example.test"
        assert await chromium.text("h1") == "Audit log"


async def test_the_login_page_offers_the_certificate(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, world.alice) as chromium:
        assert await chromium.open("/admin/audit") == "/login?next=/admin/audit"
        assert await chromium.click("#certificate-login-submit") == "/admin/audit"
        assert await chromium.text(".who") == "alice@example.test"


async def test_without_a_certificate_the_admin_listener_gives_no_page(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, listener="admin") as chromium:
        await no_page(chromium, "/admin/audit")
        await no_page(chromium, "/login")


async def test_another_cas_certificate_gets_no_page(
    world: CertificateWorld, host_browser: OpenBrowser, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger", "Someone Else's CA")
    forged = stranger.client_certificate("Alice", emails=["alice@example.test"])
    async with host_browser(world.host, forged, listener="admin") as chromium:
        await no_page(chromium, "/admin/audit")


async def test_a_members_certificate_gets_no_page_from_the_admin_listener(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, world.bob, listener="admin") as chromium:
        await no_page(chromium, "/admin/audit")


async def test_a_revoked_or_expired_administrators_certificate_gets_no_page(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    world.ca.write_crl(world.crl, revoked=[world.alice.serial])
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        await no_page(chromium, "/admin/audit")
    now = datetime.datetime.now(datetime.UTC)
    expired = world.ca.client_certificate(
        "Alice",
        emails=["alice@example.test"],
        not_before=now - datetime.timedelta(days=2),
        not_after=now - datetime.timedelta(hours=1),
    )
    async with host_browser(world.host, expired, listener="admin") as chromium:
        await no_page(chromium, "/admin/audit")
