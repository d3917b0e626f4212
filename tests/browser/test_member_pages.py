"""A member at the self-service pages in chromium: changing their own password (their
other login ends, the old password stops working) and setting a vacation reply, which
then answers mail from outside."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.conftest import OpenBrowser
from tests.browser.steps import log_in, log_out
from tests.support.mail_host import PASSWORD, MailHost, start_host
from tests.support.sieve_host import send
from tests.web.conftest import ADMIN_SETTINGS
from tests.web.member_pages import MAIL_LISTENERS

BOB = "bob@example.test"
CAROL = "carol@outside.example"
NEW_PASSWORD = "a new and longer secret"


@pytest.fixture
async def mail_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """The host with its web listener and the mail protocols (Sieve for the vacation)."""
    async for running in start_host(tmp_path / "host", ADMIN_SETTINGS, MAIL_LISTENERS):
        yield running


async def test_a_member_changes_their_password_and_their_other_login_ends(
    web_host: MailHost, host_browser: OpenBrowser
) -> None:
    async with host_browser(web_host) as here, host_browser(web_host) as elsewhere:
        assert await log_in(elsewhere, BOB, then="/me") == "/me"
        assert await log_in(here, BOB, then="/me") == "/me"
        await here.click("#nav-me-password")
        await here.fill(
            "#password-form",
            old_password=PASSWORD,
            new_password=NEW_PASSWORD,
            confirm_password=NEW_PASSWORD,
        )
        assert await here.click("#password-save") == "/me/password"
        assert await here.flash() == ["Your password was changed. 1 other login ended."]

        assert await elsewhere.open("/me") == "/login?next=/me"
        assert await log_in(elsewhere, BOB, PASSWORD, then="/me") == "/login"
        assert await elsewhere.text("#login-failed") == "Login failed."
        assert await log_in(elsewhere, BOB, NEW_PASSWORD, then="/me") == "/me"

        assert await log_out(here) == "/login"
        assert await log_in(here, BOB, NEW_PASSWORD, then="/me") == "/me"


async def test_a_member_sets_a_vacation_reply_that_answers_mail(
    mail_host: MailHost, host_browser: OpenBrowser
) -> None:
    async with host_browser(mail_host) as chromium:
        await log_in(chromium, BOB, then="/me")
        assert await chromium.click("#nav-me-vacation") == "/me/vacation"
        await chromium.fill(
            "#vacation-form",
            vacation=True,
            subject="Away until Monday",
            body="I am away; back on Monday.",
            days="3",
        )
        assert await chromium.click("#vacation-save") == "/me/vacation"
        assert await chromium.flash() == ["Saved."]

    question = (
        f"From: Carol <{CAROL}>\r\nTo: Bob <{BOB}>\r\nSubject: question\r\n"
        "Message-ID: <q1@outside.example>\r\n\r\nAre you there?\r\n"
    ).encode()
    await asyncio.to_thread(send, mail_host, CAROL, [BOB], question)
    await mail_host.running.dispatcher.settled()
    [reply] = mail_host.internet.mx.received
    assert reply.rcpt_tos == [CAROL]
    parsed = email.message_from_bytes(reply.content)
    assert parsed["Subject"] == "Away until Monday"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert len(await mail_host.delivered(BOB)) == 1


async def test_a_password_change_posted_without_its_csrf_token_is_refused(
    web_host: MailHost, host_browser: OpenBrowser
) -> None:
    async with host_browser(web_host) as chromium:
        await log_in(chromium, BOB, then="/me/password")
        await chromium.fill(
            "#password-form",
            old_password=PASSWORD,
            new_password=NEW_PASSWORD,
            confirm_password=NEW_PASSWORD,
        )
        answer = await chromium.submit_without_csrf_token("#password-form")
        assert "CSRF token is missing or wrong" in answer
        assert await chromium.open("/me/password") == "/me/password"  # still logged in
        assert await log_out(chromium) == "/login"
        assert await log_in(chromium, BOB, PASSWORD, then="/me") == "/me"  # unchanged
