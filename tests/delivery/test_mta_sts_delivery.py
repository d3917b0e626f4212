"""MTA-STS (RFC 8461) from DNS to delivery, all on 127.0.0.1: a DNS server publishing
`_mta-sts` TXT and the MX, an HTTPS server (http.server) serving the policy with a
certificate from a test CA, and aiosmtpd as the MX, with or without STARTTLS."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailroom.delivery.mta_sts import Mode
from mailroom.delivery.mta_sts_cache import MtaStsPolicies
from mailroom.delivery.mx import make_resolver
from mailroom.delivery.remote import RemoteDelivery, RemoteStatus, verified_tls_context
from tests.support.certificate_authority import CertificateAuthority
from tests.support.dns_server import DnsServer, start_dns_server
from tests.support.mail_host import free_loopback_port
from tests.support.policy_server import PolicyServer, policy_server
from tests.support.smtp_receiver import Receiver

MESSAGE = b"From: a@origin.test\r\nTo: b@outside.example\r\nSubject: sts\r\n\r\nHello.\r\n"
ENFORCE = "version: STSv1\nmode: enforce\nmx: mx.outside.example\nmax_age: 86400\n"
TESTING = ENFORCE.replace("enforce", "testing")


def records(policy_id: str = "1") -> dict[str, dict[str, list[str]]]:
    return {
        "outside.example": {"MX": ["10 mx.outside.example."]},
        "mx.outside.example": {"A": ["127.0.0.1"]},
        "_mta-sts.outside.example": {"TXT": [f'"v=STSv1; id={policy_id};"']},
        "mta-sts.outside.example": {"A": ["127.0.0.1"]},
    }


@dataclass
class World:
    ca: CertificateAuthority
    dns: DnsServer
    https: PolicyServer
    cache: Path
    now: list[float]

    def policies(self) -> MtaStsPolicies:
        resolver = make_resolver(["127.0.0.1"], port=self.dns.port, timeout=2.0)
        context = verified_tls_context(self.ca.ca_file)
        return MtaStsPolicies(
            resolver, self.cache, context, port=self.https.port, clock=lambda: self.now[0]
        )

    def delivery(self, mx_port: int, policies: MtaStsPolicies | None = None) -> RemoteDelivery:
        return RemoteDelivery(
            make_resolver(["127.0.0.1"], port=self.dns.port, timeout=2.0),
            port=mx_port,
            helo_name="mailroom.test",
            connect_timeout=2.0,
            command_timeout=10.0,
            verified_tls=verified_tls_context(self.ca.ca_file),
            mta_sts=policies or self.policies(),
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    ca = CertificateAuthority.create(tmp_path / "ca")
    dns = await start_dns_server(records())
    with policy_server(ca.server_context("mta-sts.outside.example")) as https:
        https.policy("outside.example", ENFORCE)
        yield World(ca, dns, https, tmp_path / "mta-sts", [1_000_000.0])
    assert dns.transport is not None
    dns.transport.close()


StartMx = Callable[[ssl.SSLContext | None], tuple[Receiver, int]]


@pytest.fixture
def mx() -> Iterator[StartMx]:
    controllers: list[Controller] = []

    def start(tls: ssl.SSLContext | None) -> tuple[Receiver, int]:
        receiver = Receiver()
        port = free_loopback_port()
        controller = Controller(
            receiver, hostname="127.0.0.1", port=port, ready_timeout=5, tls_context=tls
        )
        controller.start()
        controllers.append(controller)
        return receiver, port

    yield start
    for controller in controllers:
        controller.stop()


async def mode_of(policies: MtaStsPolicies) -> Mode | None:
    policy = await policies.policy("outside.example")
    return None if policy is None else policy.mode


async def send(delivery: RemoteDelivery) -> tuple[RemoteStatus, str]:
    results = await delivery.deliver(
        sender="a@origin.test", recipients=["b@outside.example"], message=MESSAGE
    )
    result = results["b@outside.example"]
    return result.status, result.reply


async def test_enforce_delivers_to_a_listed_mx_over_verified_tls(world: World, mx: StartMx) -> None:
    receiver, port = mx(world.ca.server_context("mx.outside.example"))
    status, reply = await send(world.delivery(port))
    assert (status, reply) == (RemoteStatus.DELIVERED, "250 2.0.0 Ok: queued as 4711")
    (received,) = receiver.received
    assert received.tls
    assert world.https.requests == [("mta-sts.outside.example", "/.well-known/mta-sts.txt")]
    assert (world.cache / "outside.example.json").exists()


async def test_enforce_defers_when_the_mx_offers_no_starttls(world: World, mx: StartMx) -> None:
    receiver, port = mx(None)
    status, reply = await send(world.delivery(port))
    assert status is RemoteStatus.DEFERRED
    assert reply.startswith("4.7.4 TLS is required, but was not offered by host mx.outside.example")
    assert receiver.received == []


async def test_enforce_defers_when_the_mx_certificate_is_for_another_name(
    world: World,
    mx: StartMx,
) -> None:
    receiver, port = mx(world.ca.server_context("other.example"))
    status, reply = await send(world.delivery(port))
    assert status is RemoteStatus.DEFERRED
    assert reply.startswith("4.7.5 TLS handshake with mx.outside.example[127.0.0.1]")
    assert "CERTIFICATE_VERIFY_FAILED" in reply
    assert receiver.received == []


async def test_enforce_defers_when_no_mx_is_listed(world: World, mx: StartMx) -> None:
    world.https.policy("outside.example", ENFORCE.replace("mx.outside", "mail.elsewhere"))
    receiver, port = mx(world.ca.server_context("mx.outside.example"))
    status, reply = await send(world.delivery(port))
    assert status is RemoteStatus.DEFERRED
    assert reply == (
        "4.7.5 MTA-STS policy of outside.example allows none of its MX hosts (mx.outside.example)"
    )
    assert receiver.received == []


async def test_testing_mode_delivers_as_usual_and_logs_the_mismatch(
    world: World,
    mx: StartMx,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world.https.policy("outside.example", TESTING.replace("mx.outside", "mail.elsewhere"))
    receiver, port = mx(None)
    with caplog.at_level(logging.WARNING, "mailroom.delivery"):
        status, _ = await send(world.delivery(port))
    assert status is RemoteStatus.DELIVERED
    assert not receiver.received[0].tls
    assert "MTA-STS policy of outside.example (testing) does not list MX host mx.outside" in (
        caplog.text
    )


async def test_a_cached_policy_is_used_until_the_id_changes(world: World) -> None:
    world.dns.ttl = 0  # the resolver caches answers for their TTL: this one changes at once
    policies = world.policies()
    assert await mode_of(policies) is Mode.ENFORCE
    world.https.policy("outside.example", TESTING)
    assert await mode_of(policies) is Mode.ENFORCE
    assert len(world.https.requests) == 1

    world.dns.records["_mta-sts.outside.example"]["TXT"] = ['"v=STSv1; id=2"']
    assert await mode_of(policies) is Mode.TESTING
    assert len(world.https.requests) == 2


async def test_the_cache_outlives_a_restart_and_a_failed_fetch(world: World) -> None:
    await world.policies().policy("outside.example")
    world.https.files.clear()  # the policy server answers 404 from now on
    world.dns.records["_mta-sts.outside.example"]["TXT"] = ['"v=STSv1; id=2"']

    restarted = world.policies()  # a new process: only the files remain
    policy = await restarted.policy("outside.example")
    assert policy is not None and policy.mode is Mode.ENFORCE


async def test_an_expired_policy_that_cannot_be_fetched_again_is_dropped(world: World) -> None:
    policies = world.policies()
    await policies.policy("outside.example")
    world.https.files.clear()
    world.dns.records["_mta-sts.outside.example"]["TXT"] = ['"v=STSv1; id=2"']
    world.now[0] += 86400  # max_age has passed
    assert await policies.policy("outside.example") is None


async def test_a_policy_outlives_its_txt_record_until_max_age(world: World) -> None:
    policies = world.policies()
    await policies.policy("outside.example")
    del world.dns.records["_mta-sts.outside.example"]  # an attacker strips the record
    assert await mode_of(policies) is Mode.ENFORCE


async def test_a_policy_from_an_unverified_server_is_not_used(world: World, tmp_path: Path) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger", "Someone Else's CA")
    with policy_server(stranger.server_context("mta-sts.outside.example")) as https:
        https.policy("outside.example", ENFORCE)
        world.https = https
        assert await world.policies().policy("outside.example") is None
