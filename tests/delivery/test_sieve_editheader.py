"""editheader (RFC 5293) end to end: the header a script leaves is what is stored, and
what a redirect sends on; the body is the original's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.sieve import EXTENSIONS
from tests.support.mail_host import MailHost
from tests.support.sieve_host import fetch_all, install_script, send, start_sieve_host

pytestmark = pytest.mark.skipif(
    "editheader" not in EXTENSIONS, reason="the editheader extension is not registered yet"
)

ALICE = "alice@example.test"
CAROL = "carol@outside.example"
MESSAGE = (
    f"From: Carol <{CAROL}>\r\nTo: {ALICE}\r\nSubject: offer\r\nX-Tracking: 12345\r\n"
    "\r\nBuy now.\r\n"
).encode()


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_sieve_host(tmp_path / "host"):
        yield running


async def test_the_edited_header_is_stored(host: MailHost) -> None:
    install_script(
        host,
        ALICE,
        "tidy",
        'require "editheader";\naddheader "X-Filtered" "by alice";\ndeleteheader "X-Tracking";\n',
    )
    await asyncio.to_thread(send, host, CAROL, [ALICE], MESSAGE)
    await host.running.dispatcher.settled()
    [stored] = await asyncio.to_thread(fetch_all, host, ALICE)
    assert b"X-Filtered: by alice\r\n" in stored.message
    assert b"X-Tracking" not in stored.message
    assert stored.message.endswith(b"Subject: offer\r\n\r\nBuy now.\r\n")


async def test_a_redirect_sends_the_edited_header(host: MailHost) -> None:
    install_script(
        host,
        ALICE,
        "tidy",
        'require "editheader";\ndeleteheader "X-Tracking";\nredirect "dave@outside.example";\n',
    )
    await asyncio.to_thread(send, host, CAROL, [ALICE], MESSAGE)
    await host.running.dispatcher.settled()
    [received] = host.internet.mx.received
    assert b"X-Tracking" not in received.content
    assert received.content.endswith(b"Subject: offer\r\n\r\nBuy now.\r\n")
