"""The seam's own pages in a real browser: logging in with a password on the host's web
listener, and a form posted without its CSRF token refused."""

from __future__ import annotations

from tests.browser.conftest import OpenBrowser
from tests.browser.steps import LOGIN_FORM
from tests.support.mail_host import PASSWORD, MailHost


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
