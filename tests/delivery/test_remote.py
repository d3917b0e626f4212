"""Delivering to other mail hosts: our SMTP client against aiosmtpd servers playing the
outside world on 127.0.0.2, 127.0.0.3 and 127.0.0.1 (Linux routes all of 127.0.0.0/8 to
loopback), all on one port, found through real DNS messages from a small server."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mailroom.delivery.mx import make_resolver
from mailroom.delivery.remote import RemoteDelivery, RemoteStatus, TlsPolicy
from mailroom.net.certificates import write_self_signed_certificate
from tests.support.dns_server import DnsServer, start_dns_server
from tests.support.smtp_receiver import Receiver

Records = dict[str, dict[str, list[str]]]
MESSAGE = b"From: a@origin.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nHello.\r\n"
MX_RECORDS: Records = {
    "example.test": {"MX": ["10 mx1.example.test.", "20 mx2.example.test."]},
    "mx1.example.test": {"A": ["127.0.0.2"]},
    "mx2.example.test": {"A": ["127.0.0.3"]},
}


def _free_port() -> int:
    """A port free on 127.0.0.1, .2 and .3 alike (bounded tries)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        try:
            for address in ("127.0.0.2", "127.0.0.3"):
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on 127.0.0.1-3")


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def receivers(port: int) -> Iterator[Callable[..., Receiver]]:
    """Start an aiosmtpd server on `address`:`port`; all are stopped after the test."""
    controllers: list[Controller] = []

    def start(address: str, receiver: Receiver | None = None, **smtp: Any) -> Receiver:
        receiver = receiver or Receiver()
        controller = Controller(receiver, hostname=address, port=port, ready_timeout=5, **smtp)
        controller.start()
        controllers.append(controller)
        return receiver

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
async def dns_records() -> AsyncIterator[Callable[..., Awaitable[DnsServer]]]:
    servers: list[DnsServer] = []

    async def serve(records: Records, servfail: set[str] | None = None) -> DnsServer:
        server = await start_dns_server(records, servfail)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        assert server.transport is not None
        server.transport.close()


@pytest.fixture
def delivery_for(port: int) -> Callable[..., RemoteDelivery]:
    def make(dns: DnsServer, tls_policy: TlsPolicy = "opportunistic") -> RemoteDelivery:
        return RemoteDelivery(
            make_resolver(["127.0.0.1"], port=dns.port, timeout=1.0),
            port=port,
            helo_name="mailroom.test",
            connect_timeout=2.0,
            command_timeout=5.0,
            tls_policy=tls_policy,
        )

    return make


async def _serve_script(
    address: str, port: int, handle: Callable[..., Awaitable[None]]
) -> asyncio.Server:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        finally:
            writer.close()

    return await asyncio.start_server(session, address, port)


async def test_mail_goes_to_the_most_preferred_mx(
    dns_records, receivers, delivery_for, port, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.delivery")
    mx1, mx2 = receivers("127.0.0.2"), receivers("127.0.0.3")
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE, queue_id="4Q7X"
    )

    result = results["b@example.test"]
    assert result.status is RemoteStatus.DELIVERED
    assert result.reply == "250 2.0.0 Ok: queued as 4711"
    assert result.remote_host == f"mx1.example.test[127.0.0.2]:{port}"
    assert [r.rcpt_tos for r in mx1.received] == [["b@example.test"]]
    assert mx1.received[0].mail_from == "a@origin.test"
    assert f"SIZE={len(MESSAGE)}" in mx1.received[0].mail_options
    assert mx2.received == []
    assert (
        f"4Q7X: to=<b@example.test>, relay=mx1.example.test[127.0.0.2]:{port}, "
        "status=sent (250 2.0.0 Ok: queued as 4711)"
    ) in caplog.messages


async def test_a_refused_connection_moves_on_to_the_next_mx(
    dns_records, receivers, delivery_for
) -> None:
    mx2 = receivers("127.0.0.3")  # nothing listens on mx1
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    assert results["b@example.test"].status is RemoteStatus.DELIVERED
    assert len(mx2.received) == 1


async def test_a_421_greeting_moves_on_to_the_next_mx(
    dns_records, receivers, delivery_for, port
) -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"421 4.3.2 mx1 is too busy\r\n")
        await writer.drain()

    mx1 = await _serve_script("127.0.0.2", port, busy)
    mx2 = receivers("127.0.0.3")
    delivery = delivery_for(await dns_records(MX_RECORDS))
    try:
        results = await delivery.deliver(
            sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
        )
    finally:
        mx1.close()

    assert results["b@example.test"].status is RemoteStatus.DELIVERED
    assert len(mx2.received) == 1


async def test_when_every_mx_fails_the_recipients_are_deferred(
    dns_records, delivery_for, port
) -> None:
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    result = results["b@example.test"]
    assert result.status is RemoteStatus.DEFERRED
    assert result.reply == (
        f"4.4.1 connect to mx2.example.test[127.0.0.3]:{port}: Connection refused"
    )


async def test_a_domain_without_mx_gets_mail_at_its_own_address(
    dns_records, receivers, delivery_for
) -> None:
    host = receivers("127.0.0.2")
    delivery = delivery_for(await dns_records({"example.test": {"A": ["127.0.0.2"]}}))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    assert results["b@example.test"].status is RemoteStatus.DELIVERED
    assert len(host.received) == 1


async def test_a_null_mx_fails_permanently_without_connecting(
    dns_records, receivers, delivery_for
) -> None:
    host = receivers("127.0.0.2")
    delivery = delivery_for(
        await dns_records({"example.test": {"MX": ["0 ."], "A": ["127.0.0.2"]}})
    )

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    result = results["b@example.test"]
    assert result.status is RemoteStatus.FAILED
    assert result.enhanced_status == "5.1.10"
    assert result.reply.startswith("5.1.10 Recipient address has null MX")
    assert host.received == []


async def test_a_domain_that_does_not_exist_fails_permanently(dns_records, delivery_for) -> None:
    delivery = delivery_for(await dns_records({}))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@nowhere.test"], message=MESSAGE
    )

    result = results["b@nowhere.test"]
    assert result.status is RemoteStatus.FAILED
    assert result.enhanced_status == "5.4.4"
    assert "Host or domain name not found" in result.reply


async def test_a_dns_server_failure_defers(dns_records, delivery_for) -> None:
    delivery = delivery_for(await dns_records({}, servfail={"example.test"}))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    assert results["b@example.test"].status is RemoteStatus.DEFERRED
    assert results["b@example.test"].enhanced_status == "4.4.3"


async def test_a_4xx_for_one_recipient_defers_it_while_the_others_are_delivered(
    dns_records, receivers, delivery_for
) -> None:
    mx1 = receivers("127.0.0.2", Receiver({"full@example.test": "452 4.2.2 Mailbox full"}))
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test",
        recipients=["b@example.test", "full@example.test", "c@example.test"],
        message=MESSAGE,
    )

    assert results["full@example.test"].status is RemoteStatus.DEFERRED
    assert results["full@example.test"].reply == "452 4.2.2 Mailbox full"
    assert results["b@example.test"].status is RemoteStatus.DELIVERED
    assert results["c@example.test"].status is RemoteStatus.DELIVERED
    assert [r.rcpt_tos for r in mx1.received] == [["b@example.test", "c@example.test"]]


async def test_a_5xx_for_a_recipient_fails_it(dns_records, receivers, delivery_for) -> None:
    receivers("127.0.0.2", Receiver({"nobody@example.test": "550 5.1.1 No such user"}))
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["nobody@example.test"], message=MESSAGE
    )

    result = results["nobody@example.test"]
    assert result.status is RemoteStatus.FAILED
    assert result.reply == "550 5.1.1 No such user"
    assert result.enhanced_status == "5.1.1"


async def test_starttls_is_used_when_offered(
    dns_records, receivers, delivery_for, tmp_path: Path
) -> None:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed_certificate(certificate, key, "mx1.example.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    mx1 = receivers("127.0.0.2", tls_context=context)
    delivery = delivery_for(await dns_records(MX_RECORDS))

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    assert results["b@example.test"].status is RemoteStatus.DELIVERED
    assert [r.tls for r in mx1.received] == [True]


async def test_required_tls_defers_when_starttls_is_not_offered(
    dns_records, receivers, delivery_for
) -> None:
    mx1 = receivers("127.0.0.2")
    records = {"example.test": {"A": ["127.0.0.2"]}}
    delivery = delivery_for(await dns_records(records), tls_policy="required")

    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
    )

    assert results["b@example.test"].status is RemoteStatus.DEFERRED
    assert results["b@example.test"].enhanced_status == "4.7.4"
    assert mx1.received == []


async def test_an_8bit_message_is_announced_as_8bitmime(
    dns_records, receivers, delivery_for
) -> None:
    mx1 = receivers("127.0.0.2")
    delivery = delivery_for(await dns_records(MX_RECORDS))
    message = MESSAGE.replace(b"Hello.", "Grüße.".encode())

    await delivery.deliver(sender="a@origin.test", recipients=["b@example.test"], message=message)

    assert "BODY=8BITMIME" in mx1.received[0].mail_options
    assert "Grüße".encode() in mx1.received[0].content


async def test_a_bracketed_nexthop_is_connected_to_without_mx_lookup(
    dns_records, receivers, delivery_for, port
) -> None:
    relay = receivers("127.0.0.1")
    dns = await dns_records(MX_RECORDS)
    delivery = delivery_for(dns)

    results = await delivery.deliver(
        sender="a@origin.test",
        recipients=["b@example.test"],
        message=MESSAGE,
        nexthop=f"[127.0.0.1]:{port}",
    )

    assert results["b@example.test"].remote_host == f"127.0.0.1[127.0.0.1]:{port}"
    assert len(relay.received) == 1
    assert dns.queries == []


async def test_an_ip_address_nexthop_is_connected_to_without_mx_lookup_even_unbracketed(
    dns_records, receivers, delivery_for, port
) -> None:
    relay = receivers("127.0.0.1")
    dns = await dns_records(MX_RECORDS)
    delivery = delivery_for(dns)

    results = await delivery.deliver(
        sender="a@origin.test",
        recipients=["b@example.test"],
        message=MESSAGE,
        nexthop=f"127.0.0.1:{port}",  # as a relay host may be written
    )

    assert results["b@example.test"].remote_host == f"127.0.0.1[127.0.0.1]:{port}"
    assert len(relay.received) == 1
    assert dns.queries == []


async def test_a_nexthop_without_brackets_uses_the_mx_of_that_host(
    dns_records, receivers, delivery_for, port
) -> None:
    relay = receivers("127.0.0.3")
    records = {
        "relay.test": {"MX": ["10 smarthost.relay.test."]},
        "smarthost.relay.test": {"A": ["127.0.0.3"]},
    }
    delivery = delivery_for(await dns_records(records))

    results = await delivery.deliver(
        sender="a@origin.test",
        recipients=["b@example.test"],
        message=MESSAGE,
        nexthop=f"relay.test:{port}",
    )

    assert results["b@example.test"].remote_host == f"smarthost.relay.test[127.0.0.3]:{port}"
    assert len(relay.received) == 1


async def test_a_connection_lost_after_the_message_was_sent_defers(
    dns_records, delivery_for, port
) -> None:
    async def vanishes_after_the_dot(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"220 mx1 ESMTP\r\n")
        for _ in range(10):
            line = await reader.readline()
            if line.upper().startswith(b"EHLO"):
                writer.write(b"250 mx1\r\n")
            elif line.upper().startswith(b"DATA"):
                writer.write(b"354 go ahead\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                return  # gone before the reply to the final dot
            else:
                writer.write(b"250 2.0.0 Ok\r\n")

    mx1 = await _serve_script("127.0.0.2", port, vanishes_after_the_dot)
    delivery = delivery_for(await dns_records(MX_RECORDS))
    try:
        results = await delivery.deliver(
            sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
        )
    finally:
        mx1.close()

    result = results["b@example.test"]
    assert result.status is RemoteStatus.DEFERRED
    assert "may be delivered more than once" in result.reply


async def test_a_failed_tls_handshake_is_retried_in_plain_text_when_tls_is_opportunistic(
    dns_records, delivery_for, port
) -> None:
    sessions: list[list[bytes]] = []

    async def broken_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands: list[bytes] = []
        sessions.append(commands)
        writer.write(b"220 mx1 ESMTP\r\n")
        for _ in range(10):
            line = await reader.readline()
            commands.append(line.split()[0].upper() if line.strip() else b"")
            if line.upper().startswith(b"EHLO"):
                writer.write(b"250-mx1\r\n250 STARTTLS\r\n")
            elif line.upper().startswith(b"STARTTLS"):
                writer.write(b"220 2.0.0 Ready\r\nthis is not a TLS handshake\r\n")
                await writer.drain()
                return
            elif line.upper().startswith(b"DATA"):
                writer.write(b"354 go ahead\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                writer.write(b"250 2.0.0 Ok: queued in plain text\r\n")
            elif line.upper().startswith(b"QUIT") or not line:
                writer.write(b"221 2.0.0 Bye\r\n")
                return
            else:
                writer.write(b"250 2.0.0 Ok\r\n")

    mx1 = await _serve_script("127.0.0.2", port, broken_tls)
    delivery = delivery_for(await dns_records({"example.test": {"A": ["127.0.0.2"]}}))
    try:
        results = await delivery.deliver(
            sender="a@origin.test", recipients=["b@example.test"], message=MESSAGE
        )
    finally:
        mx1.close()

    assert results["b@example.test"].reply == "250 2.0.0 Ok: queued in plain text"
    assert sessions[0] == [b"EHLO", b"STARTTLS"]
    assert sessions[1][:4] == [b"EHLO", b"MAIL", b"RCPT", b"DATA"]
