"""DNSBL on port 25, against a running host and lists published by the test's DNS
server: a listed client gets Postfix's `554 5.7.1` instead of the greeting and is
logged; submission is never checked; a list that fails or stays silent lets the
client in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.incoming_mail import send
from tests.support.mail_host import MailHost, start_host
from tests.support.smtp_talk import Talk

CLIENT = "1.0.0.127"  # 127.0.0.1, the tests' client, reversed (RFC 5782 §2.1)
SITES_LINE = '# sites = ["zen.spamhaus.org=127.0.0.[2..11]"]  # example; default: [] (no checks)'


def listing(*sites: str, timeout: float | None = None) -> dict[str, str]:
    settings = {SITES_LINE: "sites = [" + ", ".join(f'"{site}"' for site in sites) + "]"}
    if timeout is not None:
        settings["# timeout_seconds = 5.0"] = f"timeout_seconds = {timeout}"
    return settings


async def host_with(tmp_path: Path, settings: dict[str, str]) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path, settings):
        records = host.internet.dns.records
        records[f"{CLIENT}.black.test"] = {"A": ["127.0.0.2"], "TXT": ['"see black.test/q"']}
        records[f"{CLIENT}.errors.test"] = {"A": ["127.255.255.254"]}
        yield host


async def greeting(host: MailHost, port: str = "smtp") -> tuple[Talk, int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", host.port(port))
    talk = Talk(reader, writer)
    code, text = await talk.reply()
    return talk, code, text


async def test_a_listed_client_is_refused_at_connect_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom")
    async for host in host_with(tmp_path, listing("black.test=127.0.0.[2..11]")):
        talk, code, text = await greeting(host)
        assert (code, text) == (
            554,
            "5.7.1 Service unavailable; Client host [127.0.0.1] blocked using black.test; "
            "see black.test/q",
        )
        # RFC 5321 §3.1: nothing but QUIT is served after a 554 greeting.
        assert await talk.command("EHLO client.example") == (
            503,
            "5.5.1 Error: bad sequence of commands",
        )
        code, _ = await talk.command("MAIL FROM:<spam@outside.example>")
        assert code == 503
        assert await talk.command("QUIT") == (221, "2.0.0 Bye")
        assert await talk.closed()
        talk.close()
        assert any(
            "dnsbl: [127.0.0.1] listed by black.test=127.0.0.2*1, score 1: refused" in m
            for m in caplog.messages
        )


async def test_a_listed_client_that_keeps_talking_is_cut_off(tmp_path: Path) -> None:
    async for host in host_with(tmp_path, listing("black.test")):
        talk, code, _ = await greeting(host)
        assert code == 554
        limit = host.config.listeners[0].max_bad_commands
        codes = []
        while not codes or codes[-1] == 503:
            codes.append((await talk.command("NOOP"))[0])
            assert len(codes) <= limit
        assert codes == [503] * (limit - 1) + [421]
        assert await talk.closed()
        talk.close()


async def test_submission_is_not_checked(tmp_path: Path) -> None:
    async for host in host_with(tmp_path, listing("black.test")):
        talk, code, _ = await greeting(host, "submission")
        assert code == 220
        await talk.command("QUIT")
        talk.close()


async def test_an_answer_outside_the_filter_lets_the_client_send(tmp_path: Path) -> None:
    async for host in host_with(tmp_path, listing("errors.test=127.0.0.[2..11]")):
        assert await send(host, "carol@outside.example", ["alice@example.test"]) == {}
        assert len(await host.delivered("alice@example.test")) == 1


async def test_an_allowlist_outweighs_a_blocklist(tmp_path: Path) -> None:
    settings = listing("black.test", "white.test=127.0.[0..255].[1..3]*-1")
    async for host in host_with(tmp_path, settings):
        host.internet.dns.records[f"{CLIENT}.white.test"] = {"A": ["127.0.10.1"]}
        assert await send(host, "carol@outside.example", ["alice@example.test"]) == {}


async def test_a_failing_list_lets_the_client_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async for host in host_with(tmp_path, listing("broken.test")):
        host.internet.dns.servfail.add(f"{CLIENT}.broken.test")
        assert await send(host, "carol@outside.example", ["alice@example.test"]) == {}
        assert any(
            "dnsbl: broken.test did not answer for [127.0.0.1]" in m for m in caplog.messages
        )


async def test_a_silent_list_lets_the_client_in_after_the_timeout(tmp_path: Path) -> None:
    async for host in host_with(tmp_path, listing("silent.test", timeout=1)):
        host.internet.dns.silent.add(f"{CLIENT}.silent.test")
        talk, code, _ = await greeting(host)
        assert code == 220
        await talk.command("QUIT")
        talk.close()
        assert (f"{CLIENT}.silent.test", "(silent)") in host.internet.dns.queries


async def test_a_listed_ipv6_client_is_refused(tmp_path: Path) -> None:
    # The smtp listener on ::1; the list names ::1 by its 32 nibbles (RFC 5782 §2.4).
    on_ipv6 = {'address = "127.0.0.1:0"': 'address = "[::1]:0"'}
    async for host in host_with(tmp_path, {**listing("black.test"), **on_ipv6}):
        nibbles = ".".join(["1"] + ["0"] * 31)
        host.internet.dns.records[f"{nibbles}.black.test"] = {"A": ["127.0.0.2"]}
        reader, writer = await asyncio.open_connection("::1", host.port("smtp"))
        talk = Talk(reader, writer)
        code, text = await talk.reply()
        assert (code, text) == (
            554,
            "5.7.1 Service unavailable; Client host [::1] blocked using black.test",
        )
        assert await talk.command("QUIT") == (221, "2.0.0 Bye")
        talk.close()
