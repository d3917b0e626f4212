"""A member's vacation message and forwarding on /me/vacation, written as their Sieve
script in the store ManageSieve uses, and what delivery then does with a message: the
sender gets the vacation reply, the message is forwarded (with or without a copy kept).
A script of the member's own that is active is never replaced."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import locate_sieve
from mailroom.web.selfservice_script import SCRIPT_NAME
from tests.support.mail_host import MailHost, start_host
from tests.support.managesieve_talk import SieveTalk
from tests.support.sieve_host import install_script, send
from tests.web.conftest import ADMIN_SETTINGS
from tests.web.member_pages import BOB, MAIL_LISTENERS, member_client, submit

CAROL = "carol@outside.example"
DAVE = "dave@outside.example"
AWAY = {
    "vacation": "on",
    "subject": 'Away "until" Monday',
    "body": "I am away.\nBack on Monday; ask \\ Alice.",
    "days": "3",
    "forward_to": "",
}


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path, ADMIN_SETTINGS, MAIL_LISTENERS):
        yield running


def message(number: int) -> bytes:
    return (
        f"From: Carol <{CAROL}>\r\nTo: Bob <{BOB}>\r\nSubject: question {number}\r\n"
        f"Message-ID: <q{number}@outside.example>\r\n\r\nAre you there?\r\n"
    ).encode()


async def deliver(host: MailHost, data: bytes) -> None:
    await asyncio.to_thread(send, host, CAROL, [BOB], data)
    await host.running.dispatcher.settled()


def sieve_location(host: MailHost) -> tuple[Path, Path]:
    where = locate_sieve(
        host.config.sieve, host.config.mailbox, host.config.resolve(host.config.data_dir), BOB
    )
    return where.scripts, where.active


async def test_a_saved_vacation_answers_the_sender_once(host: MailHost) -> None:
    async with member_client(host) as client:
        answer = await submit(client, "/me/vacation", AWAY)
        assert answer.status_code == 303, answer.text
        shown = await client.get("/me/vacation")
    assert "Saved." in shown.text
    assert 'id="vacation-enabled" name="vacation" checked' in shown.text
    assert "Back on Monday; ask \\ Alice." in shown.text
    assert 'value="Away &#34;until&#34; Monday"' in shown.text

    await deliver(host, message(1))
    await deliver(host, message(2))
    [reply] = host.internet.mx.received
    assert reply.rcpt_tos == [CAROL] and reply.mail_from == "<>"
    parsed = email.message_from_bytes(reply.content)
    assert parsed["Subject"] == 'Away "until" Monday'
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert "Back on Monday; ask \\ Alice." in parsed.get_payload(decode=True).decode()
    assert len(await host.delivered(BOB)) == 2


async def test_the_script_is_the_active_one_managesieve_lists(host: MailHost) -> None:
    async with member_client(host) as client:
        await submit(client, "/me/vacation", AWAY)
    talk = await SieveTalk.logged_in(host, BOB)
    try:
        listing = await talk.command("LISTSCRIPTS")
    finally:
        await talk.close()
    assert listing.lines == [f'"{SCRIPT_NAME}" ACTIVE'.encode()]


async def test_forwarding_without_a_copy_sends_the_message_on_only(host: MailHost) -> None:
    async with member_client(host) as client:
        answer = await submit(client, "/me/vacation", {"forward_to": DAVE, "days": "7"})
        assert answer.status_code == 303, answer.text
    await deliver(host, message(1))
    [forwarded] = host.internet.mx.received
    assert forwarded.rcpt_tos == [DAVE]
    assert b"Subject: question 1" in forwarded.content
    assert await host.delivered(BOB) == []


async def test_forwarding_with_a_copy_keeps_the_message_too(host: MailHost) -> None:
    async with member_client(host) as client:
        await submit(client, "/me/vacation", {"forward_to": DAVE, "keep_copy": "on", "days": "7"})
    await deliver(host, message(1))
    assert [each.rcpt_tos for each in host.internet.mx.received] == [[DAVE]]
    assert len(await host.delivered(BOB)) == 1


async def test_the_members_own_active_script_is_left_alone(host: MailHost) -> None:
    own = b'require "fileinto";\r\nif header :contains "subject" "question" { keep; }\r\n'
    install_script(host, BOB, "mine", own)
    scripts, active = sieve_location(host)
    async with member_client(host) as client:
        before = await client.get("/me/vacation")
        assert "Not in effect" in before.text and "<code>mine</code>" in before.text
        answer = await submit(client, "/me/vacation", AWAY)
        assert answer.status_code == 303
        after = await client.get("/me/vacation")
    assert "Saved, but not in effect" in after.text
    assert active.readlink() == Path("sieve/mine.sieve")
    assert (scripts / "mine.sieve").read_bytes() == own
    assert (scripts / f"{SCRIPT_NAME}.sieve").is_file()
    await deliver(host, message(1))
    assert host.internet.mx.received == []  # no vacation: the member's script runs


async def test_a_hand_written_active_file_is_left_alone(host: MailHost) -> None:
    scripts, active = sieve_location(host)
    active.parent.mkdir(parents=True, exist_ok=True)
    active.write_bytes(b"keep;\r\n")
    async with member_client(host) as client:
        await submit(client, "/me/vacation", AWAY)
        shown = await client.get("/me/vacation")
    assert "a hand-written <code>.dovecot.sieve</code>" in shown.text
    assert not active.is_symlink() and active.read_bytes() == b"keep;\r\n"
    assert (scripts / f"{SCRIPT_NAME}.sieve").is_file()


async def test_a_script_of_ours_stays_active_when_saved_again(host: MailHost) -> None:
    async with member_client(host) as client:
        await submit(client, "/me/vacation", AWAY)
        await submit(client, "/me/vacation", {**AWAY, "vacation": "", "forward_to": DAVE})
        shown = await client.get("/me/vacation")
    assert 'id="vacation-enabled" name="vacation">' in shown.text
    _, active = sieve_location(host)
    assert active.readlink() == Path(f"sieve/{SCRIPT_NAME}.sieve")
    await deliver(host, message(1))
    assert [each.rcpt_tos for each in host.internet.mx.received] == [[DAVE]]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({**AWAY, "days": "0"}, "between 1 and 30"),
        ({**AWAY, "days": "many"}, "whole number"),
        ({**AWAY, "body": ""}, "needs a message"),
        ({**AWAY, "forward_to": "not an address"}, "not an address"),
        ({**AWAY, "forward_to": BOB}, "would loop"),
    ],
)
async def test_a_form_that_cannot_be_saved_says_why_and_changes_nothing(
    host: MailHost, form: dict[str, str], reason: str
) -> None:
    async with member_client(host) as client:
        answer = await submit(client, "/me/vacation", form)
    assert answer.status_code == 400
    assert 'id="vacation-error"' in answer.text and reason in answer.text
    scripts, _ = sieve_location(host)
    assert not (scripts / f"{SCRIPT_NAME}.sieve").exists()


async def test_a_vacation_change_is_audited(host: MailHost) -> None:
    async with member_client(host) as client:
        await submit(client, "/me/vacation", {**AWAY, "forward_to": DAVE, "keep_copy": "on"})
    (entry,) = await host.directory.audit_entries(actor=BOB)
    assert entry.action == "vacation.set"
    assert entry.detail == f"vacation: on; forward: {DAVE} (keeping a copy)"
