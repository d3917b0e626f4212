"""Logging in with a password in chromium on the host's web listener (an administrator
with the TOTP code after it), and a login posted without its CSRF token refused."""

from __future__ import annotations

from tests.browser.conftest import OpenBrowser
from tests.browser.steps import LOGIN_FORM, log_in
from tests.support.mail_host import PASSWORD, MailHost
from tests.web.test_totp import code, totp_host  # noqa: F401 (totp_host: a fixture)


async def test_a_member_logs_in_with_a_password(
    web_host: MailHost, host_browser: OpenBrowser
) -> None:
    async with host_browser(web_host) as chromium:
        assert await chromium.open("/") == "/login?next=/"
        await chromium.fill(LOGIN_FORM, login="bob@example.test", password=PASSWORD)
        assert await chromium.click(f"{LOGIN_FORM} button[type=submit]") == "/"
        assert "Welcome, bob@example.test" in await chromium.text("h1")


async def test_a_login_posted_without_its_csrf_token_is_refused(
    web_host: MailHost, host_browser: OpenBrowser
) -> None:
    async with host_browser(web_host) as chromium:
        await chromium.open("/login")
        await chromium.fill(LOGIN_FORM, login="bob@example.test", password=PASSWORD)
        answer = await chromium.submit_without_csrf_token(LOGIN_FORM)
        assert "CSRF token is missing or wrong" in answer
        assert await chromium.open("/") == "/login?next=/"


async def test_an_administrator_gives_the_totp_code_after_the_password(
    totp_host: MailHost,  # noqa: F811
    host_browser: OpenBrowser,
) -> None:
    async with host_browser(totp_host) as chromium:
        assert await log_in(chromium, "alice@example.test", then="/admin/audit") == "/login/totp"
        await chromium.fill("#totp-login", code=code())
        await chromium.click("#totp-login-submit")
        assert await chromium.open("/admin/audit") == "/admin/audit"
        assert await chromium.text(".who") == "alice@example.test"
