"""A web login ends after `session_idle_minutes` unused and `session_max_hours` after it
began, however busy; on the real host, with its session store's clock moved by the test
(the shipped 30 minutes and 12 hours)."""

from __future__ import annotations

from tests.support.fake_clock import FakeClock
from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import web_client, web_sessions
from tests.web.test_login import log_in

MINUTE = 60.0


async def test_a_login_unused_for_the_idle_time_ends(web_host: MailHost) -> None:
    clock = FakeClock()
    web_sessions(web_host).clock = clock
    async with web_client(web_host) as client:
        assert (await log_in(client, "bob@example.test", PASSWORD)).status_code == 303
        clock.advance(30 * MINUTE - 1)
        assert (await client.get("/")).status_code == 200
        clock.advance(30 * MINUTE + 1)
        answer = await client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/"


async def test_a_used_login_stays_until_its_idle_time_passes_again(web_host: MailHost) -> None:
    clock = FakeClock()
    web_sessions(web_host).clock = clock
    async with web_client(web_host) as client:
        await log_in(client, "bob@example.test", PASSWORD)
        for _ in range(3):
            clock.advance(29 * MINUTE)
            assert (await client.get("/")).status_code == 200


async def test_a_login_ends_after_its_maximum_however_busy(web_host: MailHost) -> None:
    clock = FakeClock()
    web_sessions(web_host).clock = clock
    async with web_client(web_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        for _ in range(12 * 3 - 1):  # every 20 minutes, up to 11 h 40 min
            clock.advance(20 * MINUTE)
            assert (await client.get("/")).status_code == 200
        clock.advance(20 * MINUTE + 1)
        assert (await client.get("/")).status_code == 303


async def test_an_ended_login_takes_its_form_token_with_it(web_host: MailHost) -> None:
    clock = FakeClock()
    web_sessions(web_host).clock = clock
    async with web_client(web_host) as client:
        home = await log_in(client, "bob@example.test", PASSWORD)
        page = await client.get(home.headers["location"])
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        clock.advance(31 * MINUTE)
        answer = await client.post("/logout", data={"csrf_token": token})
        assert answer.status_code == 403
