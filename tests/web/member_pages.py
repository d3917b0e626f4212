"""A member in front of the self-service pages, over the real host's TLS web listener
with httpx: logging in with the password form, and posting a page's forms with the
session's CSRF token, as a browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from mailroom.config.example import ListenerExample
from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import WEB_LISTENERS, web_client

BOB = "bob@example.test"
ALICE = "alice@example.test"
MAIL_LISTENERS = (
    *WEB_LISTENERS,
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
    ListenerExample("sieve", "managesieve", 0, "starttls"),
)
"""The web listener with every protocol a mail client logs in to."""


def form_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def log_in(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> None:
    form = await client.get("/login")
    answer = await client.post(
        "/login",
        data={"csrf_token": form_token(form), "login": login, "password": password, "next": "/me"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/me"


@asynccontextmanager
async def member_client(
    host: MailHost, login: str = BOB, password: str = PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(host) as client:
        await log_in(client, login, password)
        yield client


async def submit(
    client: httpx.AsyncClient, page: str, data: dict[str, str], action: str | None = None
) -> httpx.Response:
    """GET `page`, then POST its form (to `action`, default the page) with the token."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action or page, data={"csrf_token": form_token(shown), **data})
