"""MTA-STS as configured: `[delivery] mta_sts_port` and `tls_ca_file` point the running
host at a policy server on 127.0.0.1 with a test CA's certificate; outside.example
publishes an enforce policy, so mail to it leaves only over verified TLS."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.support.certificate_authority import CertificateAuthority
from tests.support.dns_server import start_dns_server
from tests.support.mail_host import (
    OUTSIDE_RECORDS,
    Internet,
    MailHost,
    free_loopback_port,
    start_host_on,
)
from tests.support.policy_server import policy_server
from tests.support.smtp_receiver import Receiver
from tests.support.submission import submit

ENFORCE = "version: STSv1\r\nmode: enforce\r\nmx: mx.outside.example\r\nmax_age: 86400\r\n"


async def internet_with_sts(mx_tls: ssl.SSLContext | None) -> AsyncIterator[Internet]:
    records = {
        **OUTSIDE_RECORDS,
        "_mta-sts.outside.example": {"TXT": ['"v=STSv1; id=20261125"']},
        "mta-sts.outside.example": {"A": ["127.0.0.1"]},
    }
    dns = await start_dns_server(records)
    port = free_loopback_port()
    receiver = Receiver()
    controller = Controller(
        receiver, hostname="127.0.0.1", port=port, ready_timeout=5, tls_context=mx_tls
    )
    controller.start()
    try:
        yield Internet(dns, receiver, port)
    finally:
        controller.stop()
        assert dns.transport is not None
        dns.transport.close()


async def host_sending_to(
    root: Path, ca: CertificateAuthority, mx_tls: ssl.SSLContext | None
) -> AsyncIterator[MailHost]:
    with policy_server(ca.server_context("mta-sts.outside.example")) as https:
        https.policy("outside.example", ENFORCE)
        settings = {
            "# mta_sts_port = 443": f"mta_sts_port = {https.port}",
            '# tls_ca_file = "tls/relay-ca.pem"': f'tls_ca_file = "{ca.ca_file}"',
        }
        async for internet in internet_with_sts(mx_tls):
            async for host in start_host_on(root, internet, settings):
                yield host


async def test_mail_to_an_enforcing_domain_leaves_over_verified_tls(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca")
    async for host in host_sending_to(
        tmp_path / "host", ca, ca.server_context("mx.outside.example")
    ):
        await submit(host, "alice@example.test", ["carol@outside.example"])
        await host.running.dispatcher.settled()
        (received,) = host.internet.mx.received
        assert received.tls
        cached = json.loads((host.root / "data" / "mta-sts" / "outside.example.json").read_text())
        assert (cached["id"], cached["policy"]) == ("20261125", ENFORCE)


async def test_mail_to_an_enforcing_domain_waits_rather_than_go_in_clear(
    tmp_path: Path,
) -> None:
    ca = CertificateAuthority.create(tmp_path / "ca")
    async for host in host_sending_to(tmp_path / "host", ca, None):
        await submit(host, "alice@example.test", ["carol@outside.example"])
        await host.running.dispatcher.settled()
        assert host.internet.mx.received == []
        (entry,) = await host.running.services.queue.entries()
        assert entry.envelope.recipients[0].last_reply.startswith("4.7.4 TLS is required")
