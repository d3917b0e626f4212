"""The demo's way into the web admin, done as the README tells a person: `mailroom init
--demo` made alice.p12 (password `demo`); it is imported with `pk12util` into chromium's
NSS database, and "Log in with your certificate" opens the admin pages."""

from __future__ import annotations

from pathlib import Path

from tests.support.browser import Pkcs12File, browser
from tests.support.installation import Installation
from tests.web.test_demo_admin import demo  # noqa: F401 (a fixture: the demo, served)


async def test_alice_logs_in_to_the_demo_with_her_p12_file(
    demo: tuple[Installation, int],  # noqa: F811
    tmp_path: Path,
    artifacts: Path,
) -> None:
    site, port = demo
    tls = site.root / "tls"
    async with browser(
        tmp_path / "home",
        f"https://127.0.0.1:{port}",
        artifacts,
        Pkcs12File(tls / "alice.p12", "demo"),
        trusted_servers=[tls / "cert.pem"],
    ) as chromium:
        assert await chromium.open("/admin/audit") == "/login?next=/admin/audit"
        assert await chromium.click("#certificate-login-submit") == "/admin/audit"
        assert await chromium.text(".who") == "alice@example.test"
        assert await chromium.text("h1") == "Audit log"
