"""Inbound mail authentication on port 25, end to end: a running host, its DNS answered
by a real DNS server on 127.0.0.1 publishing SPF, DKIM and DMARC records, messages
signed by dkimpy with keys published there, sent with smtplib (and BDAT by hand). The
one Authentication-Results header is read back from the Maildir with `authres`."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import authres
import dkim
import pytest
from aiosmtpd.controller import Controller

from mailroom.config import DkimAlgorithm
from mailroom.mailauth.dkim import DkimKeys, DkimSigner, txt_character_strings
from mailroom.mailauth.results import authserv_id
from mailroom.message.headers import parse_header_block, unfold
from tests.support.dns_server import start_dns_server
from tests.support.mail_host import (
    OUTSIDE_RECORDS,
    Internet,
    MailHost,
    free_loopback_port,
    start_host_on,
)
from tests.support.smtp_receiver import Receiver
from tests.support.smtp_talk import Talk
from tests.support.submission import submit

OUR_ID = "mail.example.test"
ALICE = "alice@example.test"
ENABLED = {"# enabled = false\n# spf = true": "enabled = true\n# spf = true"}
SIGNED_DOMAINS = (
    "slowkey.test",
    "aligned.test",
    "badkey.test",
    "keytemp.test",
    "quarantine.test",
    "lists.test",
)

SPF_PASS = ['"v=spf1 ip4:127.0.0.1 -all"']


def spf(record: str) -> dict[str, list[str]]:
    return {"TXT": [f'"{record}"']}


def dmarc(record: str) -> dict[str, list[str]]:
    return {"TXT": [f'"{record}"']}


BASE_RECORDS: dict[str, dict[str, list[str]]] = {
    **OUTSIDE_RECORDS,
    "aligned.test": {"TXT": SPF_PASS},
    "_dmarc.aligned.test": dmarc("v=DMARC1; p=reject"),
    "spf-fail.test": spf("v=spf1 ip4:192.0.2.1 -all"),
    "spf-softfail.test": spf("v=spf1 ~all"),
    "spf-neutral.test": spf("v=spf1 ?all"),
    "spf-none.test": {"A": ["192.0.2.1"]},
    "spf-permerror.test": spf("v=spf1 ip4:127.0.0.1 bogus:x -all"),
    "helo.outside.test": {"TXT": SPF_PASS, "A": ["127.0.0.1"]},
    "reject.test": spf("v=spf1 -all"),
    "_dmarc.reject.test": dmarc("v=DMARC1; p=reject"),
    "quarantine.test": spf("v=spf1 -all"),
    "_dmarc.quarantine.test": dmarc("v=DMARC1; p=quarantine"),
    "lenient.test": spf("v=spf1 -all"),
    "_dmarc.lenient.test": dmarc("v=DMARC1; p=none"),
    "lists.test": {"TXT": SPF_PASS},
    "dmarc-permerror.test": {"TXT": SPF_PASS},
    "_dmarc.dmarc-permerror.test": dmarc("v=DMARC1; p=whatever"),
    "dmarc-temperror.test": {"TXT": SPF_PASS},
    "temp-reject.test": {"A": ["192.0.2.1"]},
    "_dmarc.temp-reject.test": dmarc("v=DMARC1; p=reject"),
}
SERVFAIL = {
    "spf-temperror.test",
    "_dmarc.dmarc-temperror.test",
    "mail._domainkey.keytemp.test",
    "temp-reject.test",
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> DkimKeys:
    keys = DkimKeys(tmp_path_factory.mktemp("dkim"), "mail")
    for domain in SIGNED_DOMAINS:
        keys.create(domain, DkimAlgorithm.RSA)
    return keys


def published(keys: DkimKeys) -> dict[str, dict[str, list[str]]]:
    records = {name: dict(types) for name, types in BASE_RECORDS.items()}
    for domain in SIGNED_DOMAINS:
        key = keys.load(domain)
        assert key is not None
        value = " ".join(f'"{piece}"' for piece in txt_character_strings(key.dns_txt_record))
        records[f"mail._domainkey.{domain}"] = {"TXT": [value]}
    records["mail._domainkey.badkey.test"] = {"TXT": ['"v=DKIM1; k=rsa; p=!!notbase64!!"']}
    return records


async def start_world(
    root: Path, keys: DkimKeys, settings: dict[str, str] | None = None, *, enabled: bool = True
) -> AsyncIterator[MailHost]:
    dns = await start_dns_server(published(keys), set(SERVFAIL))
    dns.silent.add("mail._domainkey.slowkey.test")  # never answered: the lookup times out
    port = free_loopback_port()
    controller = Controller(Receiver({}), hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        internet = Internet(dns, controller.handler, port)
        chosen = {**(ENABLED if enabled else {}), **(settings or {})}
        async for host in start_host_on(root, internet, chosen):
            yield host
    finally:
        controller.stop()
        assert dns.transport is not None
        dns.transport.close()


@pytest.fixture
async def host(tmp_path: Path, keys: DkimKeys) -> AsyncIterator[MailHost]:
    async for running in start_world(tmp_path / "host", keys):
        yield running


def message(author: str, subject: str = "hello", extra: bytes = b"") -> bytes:
    return (
        extra
        + (
            f"From: Sender <someone@{author}>\r\n"
            f"To: {ALICE}\r\n"
            f"Subject: {subject}\r\n"
            "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject}@{author}>\r\n"
            "\r\n"
            "The body of the message.\r\n"
        ).encode()
    )


def signed(keys: DkimKeys, author: str, domain: str | None = None, **kw: bytes) -> bytes:
    body = message(author, **kw)  # type: ignore[arg-type]
    header = DkimSigner(keys).sign(body, domain or author)
    assert header is not None
    return header + body


async def send(
    host: MailHost,
    sender: str,
    body: bytes,
    *,
    helo: str = "client.outside.test",
    recipients: tuple[str, ...] = (ALICE,),
) -> None:
    """smtplib, in a thread (the host runs in this event loop), on port 25."""

    def run() -> None:
        with smtplib.SMTP("127.0.0.1", host.port("smtp"), local_hostname=helo) as client:
            client.sendmail(sender, list(recipients), body)

    await asyncio.to_thread(run)


async def refusal(host: MailHost, sender: str, body: bytes) -> tuple[int, str]:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(host, sender, body)
    return refused.value.smtp_code, refused.value.smtp_error.decode()


def results_of(stored: bytes) -> dict[str, list[str]]:
    """method -> results of the one Authentication-Results field with our id."""
    header = parse_header_block(stored, 0, len(stored))
    ours = [
        f
        for f in header.fields
        if f.name.lower() == "authentication-results" and authserv_id(f.value) == OUR_ID
    ]
    assert len(ours) == 1, ours
    text = unfold(ours[0].value).decode()
    parsed = authres.FeatureContext(authres.dmarc, authres.arc).parse_value(text)
    found: dict[str, list[str]] = {}
    for result in parsed.results:
        found.setdefault(result.method, []).append(result.result)
    return found


async def only_message(host: MailHost, folder: str = "") -> bytes:
    (stored,) = await host.delivered(ALICE, folder)
    return stored


async def test_aligned_signed_mail_passes_spf_dkim_and_dmarc(
    host: MailHost, keys: DkimKeys
) -> None:
    await send(host, "bounce@aligned.test", signed(keys, "aligned.test"))
    stored = await only_message(host)
    assert stored.startswith(
        b"Return-Path: <bounce@aligned.test>\nDelivered-To: alice@example.test\n"
        b"Authentication-Results: mail.example.test;\n\tspf=pass"
    )
    assert results_of(stored) == {
        "spf": ["pass", "none"],
        "dkim": ["pass"],
        "arc": ["none"],
        "dmarc": ["pass"],
    }
    assert b"smtp.mailfrom=bounce@aligned.test" in stored
    assert b"header.d=aligned.test header.s=mail" in stored


@pytest.mark.parametrize(
    ("sender_domain", "expected"),
    [
        ("aligned.test", "pass"),
        ("spf-fail.test", "fail"),
        ("spf-softfail.test", "softfail"),
        ("spf-neutral.test", "neutral"),
        ("spf-none.test", "none"),
        ("spf-temperror.test", "temperror"),
        ("spf-permerror.test", "permerror"),
    ],
)
async def test_each_spf_result_is_written(
    host: MailHost, sender_domain: str, expected: str
) -> None:
    await send(host, f"bounce@{sender_domain}", message("nodmarc.test"))
    assert results_of(await only_message(host))["spf"] == [expected, "none"]


async def test_the_helo_name_is_checked_and_the_null_sender_uses_it(host: MailHost) -> None:
    await send(host, "", message("nodmarc.test"), helo="helo.outside.test")
    stored = await only_message(host)
    assert results_of(stored)["spf"] == ["pass", "pass"]
    assert b"smtp.mailfrom=postmaster@helo.outside.test" in stored
    assert b"smtp.helo=helo.outside.test" in stored


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("good", "pass"),
        ("altered", "fail"),
        ("unsigned", "none"),
        ("bad key", "permerror"),
        ("key lookup fails", "temperror"),
        ("rsa-sha1", "policy"),
    ],
)
async def test_each_dkim_result_is_written(
    host: MailHost, keys: DkimKeys, kind: str, expected: str
) -> None:
    if kind == "good":
        body = signed(keys, "nodmarc.test", "aligned.test")
    elif kind == "altered":
        body = signed(keys, "nodmarc.test", "aligned.test").replace(b"The body", b"A body")
    elif kind == "unsigned":
        body = message("nodmarc.test")
    elif kind == "rsa-sha1":  # RFC 8301 §3.1: no longer accepted
        key = keys.load("aligned.test")
        assert key is not None
        unsigned = message("nodmarc.test")
        body = (
            dkim.sign(
                unsigned,
                b"mail",
                b"aligned.test",
                key.private_key_pem,
                signature_algorithm=b"rsa-sha1",
            )
            + unsigned
        )
    elif kind == "bad key":
        body = signed(keys, "nodmarc.test", "badkey.test")
    else:
        body = signed(keys, "nodmarc.test", "keytemp.test")
    await send(host, "bounce@spf-none.test", body)
    assert results_of(await only_message(host))["dkim"] == [expected]


async def test_dmarc_reject_is_refused_at_data_with_550_5_7_1(host: MailHost) -> None:
    code, text = await refusal(host, "bounce@reject.test", message("reject.test"))
    assert (code, text) == (550, "5.7.1 Email from reject.test rejected per its DMARC policy")
    assert await host.delivered(ALICE) == []
    assert await host.running.services.queue.entries() == []


async def test_a_forged_sender_of_a_reject_domain_is_refused_even_with_spf_passing(
    host: MailHost, keys: DkimKeys
) -> None:
    # SPF passes for the envelope (aligned.test) but From: is reject.test: not aligned.
    body = signed(keys, "reject.test", "aligned.test")
    code, _ = await refusal(host, "bounce@aligned.test", body)
    assert code == 550


async def test_dmarc_quarantine_delivers_to_junk(host: MailHost) -> None:
    await send(host, "bounce@quarantine.test", message("quarantine.test"))
    assert await host.delivered(ALICE) == []
    stored = await only_message(host, ".Junk")
    assert results_of(stored)["dmarc"] == ["fail"]
    assert b"p=quarantine dis=QUARANTINE" in stored


async def test_signed_mail_of_a_quarantine_domain_reaches_the_inbox(
    host: MailHost, keys: DkimKeys
) -> None:
    await send(host, "bounce@quarantine.test", signed(keys, "quarantine.test"))
    stored = await only_message(host)
    assert results_of(stored)["dmarc"] == ["pass"]


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("lenient.test", "fail"),
        ("nodmarc.test", "none"),
        ("dmarc-permerror.test", "permerror"),
        ("dmarc-temperror.test", "temperror"),
    ],
)
async def test_other_dmarc_results_are_written_and_delivered(
    host: MailHost, author: str, expected: str
) -> None:
    await send(host, "bounce@spf-none.test", message(author))
    assert results_of(await only_message(host))["dmarc"] == [expected]


async def test_a_dns_failure_under_p_reject_is_answered_451(host: MailHost) -> None:
    code, text = await refusal(host, "bounce@temp-reject.test", message("temp-reject.test"))
    assert code == 451
    assert text.startswith("4.7.24 temporary DNS failure authenticating temp-reject.test")
    assert await host.delivered(ALICE) == []


async def test_headers_claiming_our_name_are_removed(host: MailHost, keys: DkimKeys) -> None:
    forged = (
        b"Authentication-Results: mail.example.test; dmarc=pass header.from=bank.test\r\n"
        b"Authentication-Results: other.test; spf=pass smtp.mailfrom=x@other.test\r\n"
    )
    await send(host, "bounce@spf-none.test", message("nodmarc.test", extra=forged))
    stored = await only_message(host)
    assert b"bank.test" not in stored
    assert b"Authentication-Results: other.test; spf=pass" in stored
    assert results_of(stored)["dmarc"] == ["none"]


async def test_bdat_is_checked_too(host: MailHost) -> None:
    body = message("reject.test")
    talk = await Talk.open(host.port("smtp"))
    try:
        assert (await talk.command("EHLO client.outside.test"))[0] == 250
        assert (await talk.command("MAIL FROM:<bounce@reject.test>"))[0] == 250
        assert (await talk.command(f"RCPT TO:<{ALICE}>"))[0] == 250
        await talk.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        code, text = await talk.reply()
    finally:
        talk.close()
    assert (code, text.split(" ")[0]) == (550, "5.7.1")


async def test_mail_from_members_is_not_checked(host: MailHost) -> None:
    await submit(host, ALICE, ["bob@example.test"])
    (stored,) = await host.delivered("bob@example.test")
    assert b"Authentication-Results" not in stored


async def test_a_recipient_domain_may_turn_reject_into_quarantine(
    tmp_path: Path, keys: DkimKeys
) -> None:
    override = {
        '# [inbound_authentication.domains."lists.example.org"]\n'
        "# dmarc_reject = false  # example; default: as [inbound_authentication]": (
            '[inbound_authentication.domains."example.test"]\ndmarc_reject = false'
        )
    }
    async for running in start_world(tmp_path / "host", keys, override):
        await send(running, "bounce@reject.test", message("reject.test"))
        stored = await only_message(running, ".Junk")
        assert results_of(stored)["dmarc"] == ["fail"]


async def test_checks_are_off_unless_enabled(tmp_path: Path, keys: DkimKeys) -> None:
    async for running in start_world(tmp_path / "host", keys, enabled=False):
        await send(running, "bounce@reject.test", message("reject.test"))
        stored = await only_message(running)
        assert b"Authentication-Results" not in stored


async def test_an_arc_chain_sealed_by_dkimpy_is_verified(host: MailHost, keys: DkimKeys) -> None:
    # A mailing list received the message, wrote its own Authentication-Results and
    # sealed it with dkimpy's ARC signer before sending it on to us.
    listed = b"Authentication-Results: mx.lists.test; dkim=none; spf=pass\r\n" + message(
        "nodmarc.test"
    )
    key = keys.load("lists.test")
    assert key is not None
    seal = dkim.arc_sign(listed, b"mail", b"lists.test", key.private_key_pem, b"mx.lists.test")
    await send(host, "bounce@lists.test", b"".join(seal) + listed)
    stored = await only_message(host)
    assert results_of(stored)["arc"] == ["pass"]
    assert b"ARC-Seal: i=1" in stored


async def test_a_broken_arc_chain_fails(host: MailHost, keys: DkimKeys) -> None:
    listed = b"Authentication-Results: mx.lists.test; dkim=none\r\n" + message("nodmarc.test")
    key = keys.load("lists.test")
    assert key is not None
    seal = dkim.arc_sign(listed, b"mail", b"lists.test", key.private_key_pem, b"mx.lists.test")
    changed = (b"".join(seal) + listed).replace(b"The body", b"Another body")
    await send(host, "bounce@lists.test", changed)
    assert results_of(await only_message(host))["arc"] == ["fail"]


async def test_dkim_lookups_are_bounded_by_the_time_limit(tmp_path: Path, keys: DkimKeys) -> None:
    limit = {"# time_limit_seconds = 30": "time_limit_seconds = 1"}
    async for running in start_world(tmp_path / "host", keys, limit):
        await send(running, "bounce@spf-none.test", signed(keys, "nodmarc.test", "slowkey.test"))
        stored = await only_message(running)
        assert results_of(stored)["dkim"] == ["temperror"]
        assert b"verification took too long" in stored


async def test_swaks_hears_the_dmarc_refusal(host: MailHost) -> None:
    swaks = shutil.which("swaks")
    if swaks is None:
        pytest.fail("swaks is not installed (.ci/run installs it: apt-get install swaks)")
    process = await asyncio.create_subprocess_exec(
        swaks,
        "--server",
        "127.0.0.1",
        "--port",
        str(host.port("smtp")),
        "--helo",
        "client.outside.test",
        "--from",
        "bounce@reject.test",
        "--to",
        ALICE,
        "--header",
        "From: <someone@reject.test>",
        "--timeout",
        "30",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    transcript = output.decode(errors="replace")
    assert "<** 550 5.7.1 Email from reject.test rejected per its DMARC policy" in transcript
    assert await host.delivered(ALICE) == []
