"""A member changes their own password on /me/password: the old one checked by the
host's Authenticator (a `web` login, counted by the throttle), the new one argon2id,
the member's other web sessions ended, the change audited."""

from __future__ import annotations

import asyncio
import imaplib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.web.conftest import ADMIN_SETTINGS, web_client
from tests.web.member_pages import BOB, MAIL_LISTENERS, log_in, member_client, submit

NEW = "a new and longer password"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path, ADMIN_SETTINGS, MAIL_LISTENERS):
        yield running


def imap_login(host: MailHost, password: str) -> str:
    with imaplib.IMAP4_SSL("127.0.0.1", host.port("imaps"), ssl_context=client_tls()) as imap:
        try:
            status, _ = imap.login(BOB, password)
        except imaplib.IMAP4.error as error:
            return str(error)
        return str(status)


def change(old: str, new: str = NEW, confirm: str | None = None) -> dict[str, str]:
    return {
        "old_password": old,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


async def test_the_self_service_pages_ask_for_a_login_first(host: MailHost) -> None:
    async with web_client(host) as client:
        for path in ("/me", "/me/password", "/me/vacation", "/me/app-passwords"):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={path}"


async def test_a_member_changes_the_password_and_only_the_new_one_works(host: MailHost) -> None:
    async with member_client(host) as client:
        answer = await submit(client, "/me/password", change(PASSWORD))
        assert answer.status_code == 303
        assert answer.headers["location"] == "/me/password"
        shown = await client.get("/me/password")
        assert '<p class="flash" role="status">Your password was changed.' in shown.text
    stored = (await host.directory.get_account(BOB)).password_hash
    assert stored.startswith("$argon2id$")
    assert await asyncio.to_thread(imap_login, host, NEW) == "OK"
    assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imap_login, host, PASSWORD)
    async with web_client(host) as client:
        await log_in(client, BOB, NEW)


async def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_login(
    host: MailHost, caplog: pytest.LogCaptureFixture
) -> None:
    before = (await host.directory.get_account(BOB)).password_hash
    async with member_client(host) as client:
        with caplog.at_level(logging.INFO, logger="mailroom.auth"):
            answer = await submit(client, "/me/password", change("not my password"))
        assert answer.status_code == 403
        assert 'id="password-error"' in answer.text
        assert "The current password is not right." in answer.text
    assert (await host.directory.get_account(BOB)).password_hash == before
    failures = [
        record.getMessage()
        for record in caplog.records
        if "protocol=web" in record.getMessage() and "reason=bad_password" in record.getMessage()
    ]
    assert len(failures) == 1, failures


async def test_a_banned_client_cannot_change_the_password(host: MailHost) -> None:
    throttle = host.config.auth.throttle
    async with member_client(host) as client:
        for _ in range(throttle.max_failures_per_ip):
            answer = await submit(client, "/me/password", change("wrong"))
            assert answer.status_code == 403
        answer = await submit(client, "/me/password", change(PASSWORD))
        assert answer.status_code == 429
        assert "Too many failed attempts" in answer.text
    assert await asyncio.to_thread(imap_login, host, PASSWORD) != "OK"  # banned there too


async def test_the_new_password_must_be_typed_twice_alike_and_be_long_enough(
    host: MailHost,
) -> None:
    async with member_client(host) as client:
        differ = await submit(client, "/me/password", change(PASSWORD, NEW, NEW + "x"))
        assert differ.status_code == 400
        assert "differ" in differ.text
        short = await submit(client, "/me/password", change(PASSWORD, "short"))
        assert short.status_code == 400
        assert "at least 10 characters" in short.text
    assert await asyncio.to_thread(imap_login, host, PASSWORD) == "OK"


async def test_the_members_other_sessions_end_and_this_one_stays(host: MailHost) -> None:
    async with member_client(host) as elsewhere, member_client(host) as here:
        assert (await elsewhere.get("/me")).status_code == 200
        answer = await submit(here, "/me/password", change(PASSWORD))
        assert answer.status_code == 303
        assert "1 other login ended" in (await here.get("/me/password")).text
        assert (await here.get("/me")).status_code == 200
        gone = await elsewhere.get("/me")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/login?next=/me"


async def test_a_password_change_is_audited_with_who_and_from_where(host: MailHost) -> None:
    async with member_client(host) as client:
        await submit(client, "/me/password", change(PASSWORD))
    (entry,) = await host.directory.audit_entries(actor=BOB)
    assert (entry.action, entry.target, entry.source) == ("password.change", BOB, "127.0.0.1")


async def test_a_password_form_without_its_token_is_refused(host: MailHost) -> None:
    async with member_client(host) as client:
        answer = await client.post("/me/password", data=change(PASSWORD))
        assert answer.status_code == 403
    assert await asyncio.to_thread(imap_login, host, PASSWORD) == "OK"
