"""A web client logged in with a password (alice is the test host's administrator, bob
a member), and the page's CSRF token for its forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import web_client

ADMIN = "alice@example.test"
MEMBER = "bob@example.test"


def form_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@asynccontextmanager
async def logged_in(host: MailHost, login: str = ADMIN) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(host) as client:
        form = await client.get("/login")
        answer = await client.post(
            "/login",
            data={"csrf_token": form_token(form), "login": login, "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        yield client


async def post_form(
    client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Post a form of the page at `page_url` (with its CSRF token) to `action`."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": form_token(page), **(data or {})})
