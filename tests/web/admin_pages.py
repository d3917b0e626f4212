"""Driving the admin's pages as a browser would: log in, fetch a page for its form token,
post a form, read what the page says."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import web_client
from tests.web.test_login import csrf_token, log_in


@asynccontextmanager
async def logged_in(
    host: MailHost, login: str = "alice@example.test"
) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(host) as client:
        answer = await log_in(client, login, PASSWORD)
        assert answer.status_code == 303, answer.text
        yield client


async def submit(client: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    """Post a form of the page at `url` (to `url`, as the page's forms do) with `fields`."""
    form = await client.get(url)
    assert form.status_code == 200, form.text
    return await client.post(url, data={"csrf_token": csrf_token(form), **fields})


def refusal(page: httpx.Response) -> str:
    """The refusal a page shows (`#refusal`), unescaped."""
    match = re.search(r'id="refusal"[^>]*>([^<]*)<', page.text)
    assert match, page.text
    return html.unescape(match.group(1))


def flashes(page: httpx.Response) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'class="flash"[^>]*>([^<]*)<', page.text)]
