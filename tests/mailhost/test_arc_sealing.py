"""Mail we forward (an alias to an outside address, a Sieve redirect) leaves ARC-sealed
by the forwarding domain, vouching for what our reception found; dkimpy's ARC verifier
at the outside MX (an aiosmtpd server) accepts the seal. Members' own mail is never
sealed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiosmtplib
import dkim
import pytest

from mailroom.config import DkimConfig
from mailroom.mailauth import DkimAlgorithm, DkimKey, DkimKeys, txt_character_strings
from tests.support.incoming_mail import send
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.sieve_host import SIEVE_LISTENERS, install_script

HOST = "mail.example.test"
CHECKED = {"# enabled = false": "enabled = true"}  # [inbound_authentication]

MESSAGE = (
    b"From: Carol <carol@outside.example>\r\n"
    b"To: press@example.test\r\n"
    b"Subject: a question for the press office\r\n"
    b"Message-ID: <question-1@outside.example>\r\n"
    b"\r\n"
    b"When is the next meeting?\r\n"
)


def publish(host: MailHost, key: DkimKey) -> None:
    value = " ".join(f'"{piece}"' for piece in txt_character_strings(key.dns_txt_record))
    host.internet.dns.records[f"{key.selector}._domainkey.{key.domain}"] = {"TXT": [value]}


def keys_of(host: MailHost) -> DkimKeys:
    settings: DkimConfig = host.config.dkim
    return DkimKeys(host.config.resolve(settings.key_directory), settings.selector)


def dns_of(host: MailHost) -> Callable[..., bytes | None]:
    """dkimpy's lookup at the receiving end, answered from the test's DNS records."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        found = host.internet.dns.records.get(name.decode().rstrip(".").lower(), {})
        if "TXT" not in found:
            return None
        return "".join(re.findall(r'"([^"]*)"', found["TXT"][0])).encode()

    return lookup


def crlf(content: bytes) -> bytes:
    return content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def header_of(content: bytes) -> bytes:
    return crlf(content).split(b"\r\n\r\n", 1)[0]


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path, CHECKED, SIEVE_LISTENERS):
        publish(running, keys_of(running).create("example.test", DkimAlgorithm.RSA))
        yield running


async def forwarded(host: MailHost) -> bytes:
    await host.running.dispatcher.settled()
    (received,) = [r for r in host.internet.mx.received if "press@outside.example" in r.rcpt_tos]
    return crlf(received.content)


async def test_mail_forwarded_by_an_alias_leaves_sealed_by_the_alias_domain(
    host: MailHost,
) -> None:
    await send(host, "carol@outside.example", ["press@example.test"], MESSAGE)
    content = await forwarded(host)
    assert content.startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.test; s=mail;")
    header = header_of(content)
    aar = re.search(rb"ARC-Authentication-Results: (.*?)\r\n(?=\S)", header, flags=re.S)
    assert aar is not None
    # What our reception wrote, under our name, is what the seal vouches for.
    assert aar.group(1).startswith(b"i=1; mail.example.test;")
    assert b"spf=none smtp.mailfrom=carol@outside.example" in aar.group(1)
    status, _, reason = dkim.arc_verify(content, dnsfunc=dns_of(host))
    assert (status, reason) == (dkim.CV_Pass, "success")


async def test_a_chain_that_came_in_is_continued(host: MailHost) -> None:
    upstream = DkimKeys(host.root / "upstream", "list").create(
        "lists.outside.example", DkimAlgorithm.RSA
    )
    publish(host, upstream)
    results = b"Authentication-Results: mx.lists.outside.example; spf=pass smtp.mailfrom=x\r\n"
    fields = dkim.arc_sign(
        results + MESSAGE,
        b"list",
        b"lists.outside.example",
        upstream.private_key_pem,
        b"mx.lists.outside.example",
    )
    await send(host, "carol@outside.example", ["press@example.test"], b"".join(fields) + MESSAGE)
    content = await forwarded(host)
    assert content.startswith(b"ARC-Seal: i=2; cv=pass;")
    # Our reception verified the chain that came in, and said so under our name.
    assert b"arc=pass (i=1 all ARC sets verified)" in header_of(content)
    status, results_by_instance, _ = dkim.arc_verify(content, dnsfunc=dns_of(host))
    assert status == dkim.CV_Pass
    assert [r["as-domain"] for r in results_by_instance] == [
        b"example.test",
        b"lists.outside.example",
    ]


async def test_a_sieve_redirect_is_sealed_by_the_members_domain(host: MailHost) -> None:
    install_script(host, "bob@example.test", "away", 'redirect "bob@outside.example";')
    await send(host, "carol@outside.example", ["bob@example.test"], MESSAGE)
    await host.running.dispatcher.settled()
    (received,) = host.internet.mx.received
    assert received.rcpt_tos == ["bob@outside.example"]
    content = crlf(received.content)
    assert content.startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.test;")
    status, _, reason = dkim.arc_verify(content, dnsfunc=dns_of(host))
    assert (status, reason) == (dkim.CV_Pass, "success")


async def test_a_members_own_mail_is_not_sealed_even_with_our_header_in_it(
    host: MailHost,
) -> None:
    forged = b"Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=x@y.test\r\n"
    message = forged + MESSAGE.replace(b"Carol <carol@outside.example>", b"alice@example.test")
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=host.port("submission"), start_tls=True, tls_context=client_tls()
    )
    await client.connect()
    await client.login("alice@example.test", PASSWORD)
    await client.sendmail("alice@example.test", ["press@example.test"], message)
    await client.quit()
    content = await forwarded(host)
    assert content.startswith(b"DKIM-Signature:")  # hers, signed as ever
    assert b"ARC-Seal" not in content


async def test_no_seal_when_arc_sealing_is_off(tmp_path: Path) -> None:
    settings = {**CHECKED, "# arc_seal = true": "arc_seal = false"}
    async for host in start_host(tmp_path, settings):
        publish(host, keys_of(host).create("example.test", DkimAlgorithm.RSA))
        await send(host, "carol@outside.example", ["press@example.test"], MESSAGE)
        content = await forwarded(host)
        assert b"ARC-Seal" not in content
        assert content.startswith(b"Authentication-Results: mail.example.test;") or (
            b"\r\nAuthentication-Results: mail.example.test;" in header_of(content)
        )
