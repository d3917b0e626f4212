"""The legacy 2001-style listener: no TLS, only the webmail host may connect, and it may
send a password in plain text (its filter page logs in with the master user)."""

from __future__ import annotations

import asyncio

from tests.managesieve.conftest import MASTER_PASSWORD
from tests.support.mail_host import MailHost
from tests.support.managesieve_talk import ALICE, OUTSIDER, SieveTalk, capabilities, plain


async def test_an_address_outside_allow_networks_is_turned_away(sieve_host: MailHost) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", sieve_host.port("sieve-webmail"), local_addr=(OUTSIDER, 0)
    )
    assert await asyncio.wait_for(reader.read(), 30) == b""  # closed without a greeting
    writer.close()


async def test_the_same_address_is_served_on_the_4190_listener(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve"), local=OUTSIDER)
    assert capabilities(talk.greeting)["SASL"] == ""  # and no password without TLS
    await talk.close()


async def test_the_webmail_host_logs_in_without_tls(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve-webmail"))
    offered = capabilities(talk.greeting)
    assert offered["SASL"] == "PLAIN LOGIN"
    assert "STARTTLS" not in offered  # tls = "none"
    master = plain("webmail", MASTER_PASSWORD, authzid=ALICE)
    assert (await talk.command(f'AUTHENTICATE "PLAIN" "{master}"')).ok
    assert (await talk.put("roundcube", b"keep;\r\n")).ok
    assert (await talk.command('SETACTIVE "roundcube"')).ok
    await talk.close()


async def test_starttls_is_refused_where_tls_is_none(sieve_host: MailHost) -> None:
    talk = await SieveTalk.open(sieve_host.port("sieve-webmail"))
    # The host has TLS (for other listeners), but this listener offers none.
    reply = await talk.command("STARTTLS")
    assert reply.kind == b"NO"
    await talk.close()
