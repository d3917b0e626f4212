"""Logging in to the web listener with a password: the session cookie, the CSRF gate, a
failed login, logging out; over the real host's TLS listener with an HTTP client."""

from __future__ import annotations

import re

import httpx

from mailroom.web.guard import session_cookie
from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import web_client

COOKIE = session_cookie("web", secure=True)


def csrf_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def log_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"csrf_token": csrf_token(form), "login": login, "password": password, "next": "/"},
    )


async def test_a_page_asks_for_a_login_first(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        answer = await client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/"


async def test_the_session_cookie_is_secure_and_http_only(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        answer = await client.get("/login")
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            assert attribute in cookie


async def test_a_login_without_the_form_token_is_refused(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        await client.get("/login")
        answer = await client.post(
            "/login", data={"login": "alice@example.test", "password": PASSWORD}
        )
        assert answer.status_code == 403
        assert "CSRF" in answer.text
        assert (await client.get("/")).status_code == 303  # still not logged in


async def test_a_form_from_another_site_is_refused(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        form = await client.get("/login")
        answer = await client.post(
            "/login",
            data={
                "csrf_token": csrf_token(form),
                "login": "alice@example.test",
                "password": PASSWORD,
            },
            headers={"origin": "https://evil.example"},
        )
        assert answer.status_code == 403


async def test_a_wrong_password_gets_one_generic_answer(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        answer = await log_in(client, "alice@example.test", "wrong")
        assert answer.status_code == 401
        assert "Login failed" in answer.text
        unknown = await log_in(client, "nobody@example.test", "wrong")
        assert unknown.status_code == 401
        assert (await client.get("/")).status_code == 303


async def test_logging_in_and_out(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        anonymous = (await client.get("/login")).cookies
        answer = await log_in(client, "alice@example.test", PASSWORD)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        logged_in = answer.cookies.get(COOKIE)
        assert logged_in and logged_in != anonymous.get(COOKIE)
        home = await client.get("/")
        assert home.status_code == 200
        assert "alice@example.test" in home.text
        out = await client.post("/logout", data={"csrf_token": csrf_token(home)})
        assert out.status_code == 303
        assert (await client.get("/")).status_code == 303


async def test_the_old_session_id_is_dead_after_login(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        form = await client.get("/login")
        before = form.cookies[COOKIE]
        await client.post(
            "/login",
            data={
                "csrf_token": csrf_token(form),
                "login": "alice@example.test",
                "password": PASSWORD,
            },
        )
    async with web_client(web_host) as other:
        other.cookies.set(COOKIE, before, domain="127.0.0.1")
        assert (await other.get("/")).status_code == 303
