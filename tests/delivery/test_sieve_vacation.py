"""Vacation (RFC 5230) and duplicate (RFC 7352) end to end: the reply goes from the null
sender to the envelope sender with `Auto-Submitted: auto-replied`, once per sender within
`:days`, never to `<>` or to a list, and the memory of it survives a restart of the host."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.sieve import EXTENSIONS
from tests.support.mail_host import MailHost, start_host_on, start_internet
from tests.support.sieve_host import (
    SIEVE_LISTENERS,
    fetch_all,
    install_script,
    send,
    serve_again,
    start_sieve_host,
)

pytestmark = pytest.mark.skipif(
    "vacation" not in EXTENSIONS, reason="the vacation extension is not registered yet"
)

ALICE = "alice@example.test"
CAROL = "carol@outside.example"
VACATION = 'require "vacation";\nvacation :days 1 :subject "Away" "I am away until Monday.";\n'


def message(number: int, extra: str = "") -> bytes:
    return (
        f"From: Carol <{CAROL}>\r\nTo: Alice <{ALICE}>\r\nSubject: question {number}\r\n"
        f"Message-ID: <q{number}@outside.example>\r\n{extra}\r\nAre you there?\r\n"
    ).encode()


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_sieve_host(tmp_path / "host"):
        yield running


async def deliver(host: MailHost, data: bytes, sender: str = CAROL) -> None:
    await asyncio.to_thread(send, host, sender, [ALICE], data)
    await host.running.dispatcher.settled()


async def test_the_sender_is_answered_once_within_the_period(host: MailHost) -> None:
    install_script(host, ALICE, "away", VACATION)
    await deliver(host, message(1))
    await deliver(host, message(2))

    [reply] = host.internet.mx.received
    assert reply.rcpt_tos == [CAROL] and reply.mail_from == "<>"
    parsed = email.message_from_bytes(reply.content)
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Subject"] == "Away"
    assert parsed["In-Reply-To"] == "<q1@outside.example>"
    assert "I am away until Monday." in parsed.get_payload()
    assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 2


async def test_no_reply_to_the_null_sender(host: MailHost) -> None:
    install_script(host, ALICE, "away", VACATION)
    await deliver(host, message(1), sender="")
    assert host.internet.mx.received == []


async def test_no_reply_to_a_list(host: MailHost) -> None:
    install_script(host, ALICE, "away", VACATION)
    await deliver(host, message(1, "List-Id: <talk.lists.outside.example>\r\n"))
    await deliver(host, message(2, "Precedence: bulk\r\n"))
    assert host.internet.mx.received == []
    assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 2


async def test_the_memory_survives_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "host"
    async for internet in start_internet():
        async for host in start_host_on(root, internet, None, SIEVE_LISTENERS):
            install_script(host, ALICE, "away", VACATION)
            await deliver(host, message(1))
            assert len(internet.mx.received) == 1
        async for host in serve_again(root, internet):
            await deliver(host, message(2))
            assert len(internet.mx.received) == 1
            assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 2


@pytest.mark.skipif("duplicate" not in EXTENSIONS, reason="duplicate is not registered yet")
async def test_a_duplicate_is_discarded_even_after_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "host"
    script = 'require "duplicate";\nif duplicate { discard; }\n'
    async for internet in start_internet():
        async for host in start_host_on(root, internet, None, SIEVE_LISTENERS):
            install_script(host, ALICE, "dupes", script)
            await deliver(host, message(1))
            await deliver(host, message(1))
            assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 1
        async for host in serve_again(root, internet):
            await deliver(host, message(1))
            await deliver(host, message(2))
            assert len(await asyncio.to_thread(fetch_all, host, ALICE)) == 2
