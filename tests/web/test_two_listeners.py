"""Two web listeners on one host (e.g. one for administrators, one for members): a
browser keeps cookies per host, not per port, so each listener's session cookie has a
name of its own and a login on one does not end the other; the listeners share one
session store, so a password change ends the member's logins on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mailroom.config.example import ListenerExample as Example
from mailroom.web.guard import session_cookie
from tests.support.mail_host import PASSWORD, MailHost, start_host
from tests.web.conftest import ADMIN_SETTINGS, WEB_LISTENERS
from tests.web.logged_in import form_token

BOB = "bob@example.test"
NEW = "a new password of bob's"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    listeners = (*WEB_LISTENERS, Example("members", "web", 0, "implicit"))
    async for running in start_host(tmp_path, ADMIN_SETTINGS, listeners):
        yield running


async def log_in(client: httpx.AsyncClient, login: str) -> None:
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"csrf_token": form_token(form), "login": login, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


def test_each_listener_names_its_cookie_apart() -> None:
    names = {session_cookie(name, True) for name in ("web", "members", "a b", "a_b", "a;b")}
    assert len(names) == 5
    for name in names:
        assert name.startswith("__Host-mailroom_session-")
        assert all(c.isalnum() or c in "_.-" for c in name)
    assert session_cookie("web", False) == "mailroom_session-web"


async def test_a_login_on_one_listener_keeps_the_other(host: MailHost) -> None:
    # One cookie jar for both ports, as a browser keeps them: per host.
    jar = httpx.Cookies()
    web = f"https://127.0.0.1:{host.port('web')}"
    members = f"https://127.0.0.1:{host.port('members')}"
    async with (
        httpx.AsyncClient(base_url=web, verify=False, cookies=jar) as on_web,
        httpx.AsyncClient(base_url=members, verify=False, cookies=jar) as on_members,
    ):
        await log_in(on_web, "alice@example.test")
        await log_in(on_members, BOB)
        jar.update(on_web.cookies)
        jar.update(on_members.cookies)
        assert len(jar) == 2  # two names: neither login overwrote the other's cookie
        on_web.cookies = jar
        on_members.cookies = jar
        assert "alice@example.test" in (await on_web.get("/")).text
        assert BOB in (await on_members.get("/")).text


async def test_a_password_change_ends_the_logins_on_every_listener(host: MailHost) -> None:
    web = f"https://127.0.0.1:{host.port('web')}"
    members = f"https://127.0.0.1:{host.port('members')}"
    async with (
        httpx.AsyncClient(base_url=web, verify=False) as on_web,
        httpx.AsyncClient(base_url=members, verify=False) as on_members,
    ):
        await log_in(on_web, BOB)
        await log_in(on_members, BOB)
        page = await on_members.get("/me/password")
        answer = await on_members.post(
            "/me/password",
            data={
                "csrf_token": form_token(page),
                "old_password": PASSWORD,
                "new_password": NEW,
                "confirm_password": NEW,
            },
        )
        assert answer.status_code == 303, answer.text
        assert (await on_members.get("/")).status_code == 200  # the session that changed it
        assert (await on_web.get("/")).status_code == 303  # the other listener's: ended
