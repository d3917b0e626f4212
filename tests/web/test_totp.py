"""Password + TOTP for administrators (the shipped default): the code after the
password, a code good once, too many wrong codes, a step left waiting too long, an
administrator not yet enrolled, enrolling with the otpauth URI right after the password
(`totp_enrol_with_password`), and the code parser against hostile input."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.totp import MAX_TRIES, PENDING_SECONDS, matching_step
from tests.support.fake_clock import FakeClock
from tests.support.mail_host import PASSWORD, MailHost, start_host
from tests.web.conftest import WEB_LISTENERS, web_client, web_sessions
from tests.web.test_login import csrf_token, log_in

SECRET = pyotp.random_base32()
TOTP_SETTINGS = {"# administrators = []": 'administrators = ["alice@example.test"]'}
ENROL_SETTINGS = {
    **TOTP_SETTINGS,
    "# totp_enrol_with_password = false": "totp_enrol_with_password = true",
}


@pytest.fixture
async def totp_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path, TOTP_SETTINGS, WEB_LISTENERS):
        await host.directory.set_totp_secret("alice@example.test", SECRET)
        await host.directory.confirm_totp_secret("alice@example.test", SECRET)
        yield host


@pytest.fixture
async def enrolling_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path, ENROL_SETTINGS, WEB_LISTENERS):
        yield host


def code(secret: str = SECRET, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def give_code(client: httpx.AsyncClient, value: str) -> httpx.Response:
    form = await client.get("/login/totp")
    assert form.status_code == 200, form.text
    return await client.post("/login/totp", data={"csrf_token": csrf_token(form), "code": value})


async def test_an_administrator_gives_a_code_after_the_password(totp_host: MailHost) -> None:
    async with web_client(totp_host) as client:
        answer = await log_in(client, "alice@example.test", PASSWORD)
        assert answer.headers["location"] == "/login/totp"
        assert (await client.get("/admin/audit")).status_code == 303  # not logged in yet
        logged_in = await give_code(client, code())
        assert logged_in.status_code == 303 and logged_in.headers["location"] == "/"
        assert (await client.get("/admin/audit")).status_code == 200


async def test_a_wrong_code_is_refused_and_the_right_one_then_accepted(
    totp_host: MailHost,
) -> None:
    async with web_client(totp_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        wrong = str((int(code()) + 1) % 1_000_000).zfill(6)
        refused = await give_code(client, wrong)
        assert refused.status_code == 401 and 'id="totp-failed"' in refused.text
        assert (await give_code(client, code())).status_code == 303


async def test_a_code_is_good_once(totp_host: MailHost) -> None:
    used = code()
    async with web_client(totp_host) as first:
        await log_in(first, "alice@example.test", PASSWORD)
        assert (await give_code(first, used)).status_code == 303
    async with web_client(totp_host) as second:
        await log_in(second, "alice@example.test", PASSWORD)
        assert (await give_code(second, used)).status_code == 401
        assert (await give_code(second, code(steps_ahead=1))).status_code == 303


async def test_too_many_wrong_codes_ask_for_the_password_again(totp_host: MailHost) -> None:
    wrong = str((int(code()) + 500_000) % 1_000_000).zfill(6)
    async with web_client(totp_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        for _ in range(MAX_TRIES - 1):
            assert (await give_code(client, wrong)).status_code == 401
        last = await give_code(client, wrong)
        assert last.headers["location"] == "/login"
        assert (await client.get("/login/totp")).headers["location"] == "/login"


async def test_the_code_step_waits_only_so_long(totp_host: MailHost) -> None:
    clock = FakeClock()
    web_sessions(totp_host).clock = clock
    async with web_client(totp_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        form = await client.get("/login/totp")
        clock.advance(PENDING_SECONDS + 1)
        late = await client.post(
            "/login/totp", data={"csrf_token": csrf_token(form), "code": code()}
        )
        assert late.headers["location"] == "/login"
        assert (await client.get("/admin/audit")).status_code == 303


async def test_a_member_logs_in_with_the_password_alone(totp_host: MailHost) -> None:
    async with web_client(totp_host) as client:
        answer = await log_in(client, "bob@example.test", PASSWORD)
        assert answer.headers["location"] == "/"
        assert (await client.get("/")).status_code == 200


async def test_an_administrator_not_enrolled_gets_the_members_pages_only(
    totp_host: MailHost,
) -> None:
    await totp_host.directory.remove_totp_secret("alice@example.test")
    async with web_client(totp_host) as client:
        answer = await log_in(client, "alice@example.test", PASSWORD)
        assert answer.headers["location"] == "/"
        home = await client.get("/")
        assert home.status_code == 200 and "TOTP code" in home.text
        assert (await client.get("/admin/audit")).status_code == 403
        assert (await client.get("/totp")).status_code == 403


async def test_enrolling_right_after_the_password(enrolling_host: MailHost) -> None:
    async with web_client(enrolling_host) as client:
        answer = await log_in(client, "alice@example.test", PASSWORD)
        assert answer.headers["location"] == "/totp"
        start = await client.get("/totp")
        assert 'id="totp-start"' in start.text
        await client.post("/totp/start", data={"csrf_token": csrf_token(start)})
        enrolment = await client.get("/totp")
        uri = re.search(r'id="totp-uri" href="([^"]+)"', enrolment.text)
        assert uri is not None
        parts = urlsplit(uri.group(1).replace("&amp;", "&"))
        assert parts.scheme == "otpauth" and parts.netloc == "totp"
        assert unquote(parts.path) == "/mail.example.test:alice@example.test"
        secret = parse_qs(parts.query)["secret"][0]
        assert f'id="totp-secret">{secret}<' in enrolment.text
        assert (await client.get("/admin/audit")).status_code == 303  # not yet
        confirmed = await client.post(
            "/totp/confirm", data={"csrf_token": csrf_token(enrolment), "code": code(secret)}
        )
        assert confirmed.headers["location"] == "/"
        audit = await client.get("/admin/audit")
        assert audit.status_code == 200 and "totp.enrol" in audit.text
    stored = await enrolling_host.directory.totp_secret("alice@example.test")
    assert stored is not None and stored.confirmed and stored.secret == secret
    async with web_client(enrolling_host) as later:  # from now on: the code step
        assert (await log_in(later, "alice@example.test", PASSWORD)).headers[
            "location"
        ] == "/login/totp"


async def test_an_administrator_turns_two_step_login_off(totp_host: MailHost) -> None:
    async with web_client(totp_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        await give_code(client, code())
        page = await client.get("/totp")
        assert 'id="totp-enrolled"' in page.text
        await client.post("/totp/remove", data={"csrf_token": csrf_token(page)})
        assert 'id="totp-enrolled"' not in (await client.get("/totp")).text
        assert "totp.remove" in (await client.get("/admin/audit")).text
    assert await totp_host.directory.totp_secret("alice@example.test") is None


@given(st.text(max_size=40))
def test_any_typed_code_is_matched_or_refused_never_an_error(typed: str) -> None:
    step = matching_step(SECRET, typed, time.time())
    if step is not None:
        assert re.fullmatch(r"[0-9]{6}", typed.strip().replace(" ", ""))


def test_the_codes_of_the_steps_around_now_match() -> None:
    now = time.time()
    totp = pyotp.TOTP(SECRET)
    for offset in (-1, 0, 1):
        assert matching_step(SECRET, totp.at(now + 30 * offset), now) is not None
    assert matching_step(SECRET, totp.at(now + 90), now) is None


@pytest.fixture
async def strict_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    settings = {**TOTP_SETTINGS, "# max_failures_per_ip = 10": "max_failures_per_ip = 3"}
    async for host in start_host(tmp_path, settings, WEB_LISTENERS):
        await host.directory.set_totp_secret("alice@example.test", SECRET)
        await host.directory.confirm_totp_secret("alice@example.test", SECRET)
        yield host


async def test_wrong_codes_count_against_the_login_throttle(strict_host: MailHost) -> None:
    wrong = str((int(code()) + 500_000) % 1_000_000).zfill(6)
    async with web_client(strict_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        for _ in range(3):
            assert (await give_code(client, wrong)).status_code == 401
        banned = await give_code(client, code())
        assert banned.status_code == 401 and "Too many failed logins" in banned.text
        assert (await client.get("/admin/audit")).status_code == 303
    async with web_client(strict_host) as other:
        assert (await log_in(other, "bob@example.test", PASSWORD)).status_code == 429
