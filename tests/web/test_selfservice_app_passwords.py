"""App passwords on /me/app-passwords: made and shown once, used by real clients (imaplib,
poplib, smtplib, a ManageSieve client) in place of the account's password, refused by
the web login, revoked with effect at the client's next login, and their last use noted
without bumping the directory's version."""

from __future__ import annotations

import asyncio
import imaplib
import poplib
import re
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.managesieve_talk import SieveTalk, plain
from tests.web.conftest import ADMIN_SETTINGS, web_client
from tests.web.member_pages import ALICE, BOB, MAIL_LISTENERS, form_token, member_client, submit


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path, ADMIN_SETTINGS, MAIL_LISTENERS):
        yield running


async def make_app_password(host: MailHost, label: str, login: str = BOB) -> str:
    async with member_client(host, login) as client:
        answer = await submit(client, "/me/app-passwords", {"label": label})
    assert answer.status_code == 200, answer.text
    match = re.search(r'<code id="new-app-password">([^<]+)</code>', answer.text)
    assert match, answer.text
    return match.group(1)


def imap_login(host: MailHost, password: str, login: str = BOB) -> str:
    with imaplib.IMAP4_SSL("127.0.0.1", host.port("imaps"), ssl_context=client_tls()) as imap:
        try:
            status, _ = imap.login(login, password)
        except imaplib.IMAP4.error as error:
            return str(error)
        return str(status)


def pop3_login(host: MailHost, password: str) -> bytes:
    pop = poplib.POP3_SSL("127.0.0.1", host.port("pop3s"), context=client_tls(), timeout=30)
    try:
        pop.user(BOB)
        try:
            return pop.pass_(password)
        except poplib.error_proto as error:
            return bytes(error.args[0])
    finally:
        pop.close()


def submission_login(host: MailHost, password: str) -> int:
    with smtplib.SMTP("127.0.0.1", host.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=client_tls())
        try:
            code, _ = smtp.login(BOB, password)
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code
        return code


async def sieve_login(host: MailHost, password: str) -> bool:
    talk = await SieveTalk.open(host.port("sieve"))
    try:
        assert (await talk.starttls()).ok
        return (await talk.command(f'AUTHENTICATE "PLAIN" "{plain(BOB, password)}"')).ok
    finally:
        await talk.close()


async def test_an_app_password_logs_in_to_imap_pop3_submission_and_managesieve(
    host: MailHost,
) -> None:
    secret = await make_app_password(host, "phone")
    assert re.fullmatch(r"[1-9][0-9]*(-[a-z2-9]{5}){4}", secret)
    assert await asyncio.to_thread(imap_login, host, secret) == "OK"
    assert (await asyncio.to_thread(pop3_login, host, secret)).startswith(b"+OK")
    assert await asyncio.to_thread(submission_login, host, secret) == 235
    assert await sieve_login(host, secret)


async def test_an_app_password_is_shown_once_and_listed_by_its_label(host: MailHost) -> None:
    secret = await make_app_password(host, "laptop <Thunderbird>")
    async with member_client(host) as client:
        listing = await client.get("/me/app-passwords")
    assert secret not in listing.text
    assert "laptop &lt;Thunderbird&gt;" in listing.text
    [stored] = await host.directory.app_passwords(BOB)
    assert stored.password_hash.startswith("$argon2id$")
    assert secret.split("-", 1)[1] not in stored.password_hash


async def test_an_app_password_does_not_log_in_to_the_web_pages(host: MailHost) -> None:
    secret = await make_app_password(host, "phone")
    async with web_client(host) as client:
        form = await client.get("/login")
        answer = await client.post(
            "/login", data={"csrf_token": form_token(form), "login": BOB, "password": secret}
        )
    assert answer.status_code == 401


async def test_a_revoked_app_password_is_refused_at_once_and_the_others_stay(
    host: MailHost,
) -> None:
    phone = await make_app_password(host, "phone")
    laptop = await make_app_password(host, "laptop")
    assert await asyncio.to_thread(imap_login, host, phone) == "OK"  # now in the login cache
    phone_id = phone.split("-", 1)[0]
    async with member_client(host) as client:
        answer = await submit(
            client, "/me/app-passwords", {}, action=f"/me/app-passwords/{phone_id}/revoke"
        )
        assert answer.status_code == 303
        listing = await client.get("/me/app-passwords")
    assert "The app password was revoked." in listing.text
    assert f'id="app-password-{phone_id}"' not in listing.text
    assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imap_login, host, phone)
    assert not await sieve_login(host, phone)
    assert await asyncio.to_thread(imap_login, host, laptop) == "OK"
    assert await asyncio.to_thread(imap_login, host, PASSWORD) == "OK"
    actions = [entry.action for entry in await host.directory.audit_entries(actor=BOB)]
    assert actions == ["app_password.revoke", "app_password.add", "app_password.add"]


async def test_the_last_use_is_noted_without_a_directory_version_bump(host: MailHost) -> None:
    secret = await make_app_password(host, "phone")
    [before] = await host.directory.app_passwords(BOB)
    assert before.last_used is None
    version = await host.directory.version()
    assert await asyncio.to_thread(imap_login, host, secret) == "OK"
    [after] = await host.directory.app_passwords(BOB)
    assert after.last_used is not None
    assert await host.directory.version() == version
    async with member_client(host) as client:
        listing = await client.get("/me/app-passwords")
    assert f"{after.last_used:%Y-%m-%d %H:%M} UTC" in listing.text


async def test_a_wrong_secret_or_another_accounts_id_does_not_log_in(host: MailHost) -> None:
    secret = await make_app_password(host, "phone")
    password_id, rest = secret.split("-", 1)
    wrong = f"{password_id}-{'a' * 5}-{rest[6:]}"
    assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imap_login, host, wrong)
    assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imap_login, host, secret, ALICE)


async def test_a_revoke_of_another_members_app_password_is_refused(host: MailHost) -> None:
    secret = await make_app_password(host, "phone", ALICE)
    alice_id = secret.split("-", 1)[0]
    async with member_client(host) as client:
        answer = await submit(
            client, "/me/app-passwords", {}, action=f"/me/app-passwords/{alice_id}/revoke"
        )
    assert answer.status_code == 404
    assert await asyncio.to_thread(imap_login, host, secret, ALICE) == "OK"


async def test_an_app_password_needs_a_label(host: MailHost) -> None:
    async with member_client(host) as client:
        answer = await submit(client, "/me/app-passwords", {"label": "  "})
    assert answer.status_code == 400
    assert "needs a label" in answer.text
    assert await host.directory.app_passwords(BOB) == []


@pytest.mark.slow  # worker processes: left out of make test-fast
async def test_a_revoked_app_password_is_refused_by_worker_processes_too(tmp_path: Path) -> None:
    """IMAP and POP3 served by `[server] workers = 2`: each worker has its own login
    cache and records; the directory's version tells them of the revocation."""
    settings = {**ADMIN_SETTINGS, "# workers = 1": "workers = 2"}
    async for host in start_host(tmp_path, settings, MAIL_LISTENERS):
        secret = await make_app_password(host, "phone")
        for _ in range(3):  # each worker sees it, and caches it
            assert await asyncio.to_thread(imap_login, host, secret) == "OK"
            assert (await asyncio.to_thread(pop3_login, host, secret)).startswith(b"+OK")
        password_id = secret.split("-", 1)[0]
        async with member_client(host) as client:
            answer = await submit(
                client, "/me/app-passwords", {}, action=f"/me/app-passwords/{password_id}/revoke"
            )
            assert answer.status_code == 303
        for _ in range(3):
            assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imap_login, host, secret)
            assert b"-ERR" in await asyncio.to_thread(pop3_login, host, secret)
