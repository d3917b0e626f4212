"""Steps the browser tests share: logging in with the password form, logging out."""

from __future__ import annotations

from tests.support.browser import Browser
from tests.support.mail_host import PASSWORD

LOGIN_FORM = "form[action='/login']"


async def log_in(chromium: Browser, login: str, password: str = PASSWORD, then: str = "/") -> str:
    """Log in with the password form, asked for by opening `then`; where it lands."""
    await chromium.open(then)
    await chromium.fill(LOGIN_FORM, login=login, password=password)
    return await chromium.click(f"{LOGIN_FORM} button[type=submit]")


async def log_out(chromium: Browser) -> str:
    return await chromium.click("form.logout button[type=submit]")


async def no_page(chromium: Browser, path: str) -> str:
    """Opening `path` shows chromium's error page, not one of ours; its error code."""
    refusal = await chromium.refusal(path)
    assert refusal is not None, f"{path}: a page came"
    assert refusal.error.startswith("ERR_"), refusal
    return refusal.error
