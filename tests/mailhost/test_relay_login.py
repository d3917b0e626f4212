"""The relay host with a login: mail for other domains goes to an aiosmtpd server that
requires AUTH over STARTTLS; Mailroom logs in only on an encrypted session whose
certificate it verified (against `[delivery] tls_ca_file`, a test CA), and otherwise
keeps the mail and the password to itself."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailroom.queue import RecipientState
from tests.support.certificate_authority import CertificateAuthority
from tests.support.mail_host import MailHost, free_loopback_port, start_host_on, start_internet
from tests.support.smtp_receiver import Receiver
from tests.support.submission import submit

USERNAME = "mailroom"
PASSWORD = "relay secret 42"


class Relay(Receiver):
    """Receives like any test server; checks logins and remembers who tried."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[str, str, bool]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password, session.ssl is not None))
        # handled=False: aiosmtpd answers a refusal with 535 5.7.8 itself.
        return AuthResult(success=(login, password) == (USERNAME, PASSWORD), handled=False)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "ca")


def start_relay(tls: ssl.SSLContext | None) -> Iterator[tuple[Relay, int]]:
    relay = Relay()
    port = free_loopback_port()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=port,
        ready_timeout=5,
        tls_context=tls,
        require_starttls=tls is not None,
        auth_required=True,
        auth_require_tls=tls is not None,
        authenticator=relay,
    )
    controller.start()
    try:
        yield relay, port
    finally:
        controller.stop()


def relay_settings(
    root: Path, port: int, ca: CertificateAuthority, password: str = PASSWORD
) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "relayhost.password").write_text(password + "\n")
    return {
        '# relayhost = "[emailout.example.org]:25"': f'relayhost = "[127.0.0.1]:{port}"',
        '# relayhost_username = "mailroom"': f'relayhost_username = "{USERNAME}"',
        '# relayhost_password_file = "relayhost.password"': (
            'relayhost_password_file = "relayhost.password"'
        ),
        '# tls_ca_file = "tls/relay-ca.pem"': f'tls_ca_file = "{ca.ca_file}"',
        "# command_timeout_seconds = 300": "command_timeout_seconds = 30",
    }


async def test_mail_reaches_the_relay_host_after_a_login_over_verified_tls(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    for relay, port in start_relay(ca.server_context("127.0.0.1")):
        async for internet in start_internet():
            settings = relay_settings(tmp_path / "host", port, ca)
            async for host in start_host_on(tmp_path / "host", internet, settings):
                await submit(host, "alice@example.test", ["someone@elsewhere.example"])
                await host.running.dispatcher.settled()
                (received,) = relay.received
                assert received.rcpt_tos == ["someone@elsewhere.example"]
                assert received.tls
                assert relay.logins == [(USERNAME, PASSWORD, True)]
                assert await host.running.services.queue.entries() == []


async def deferred_reply(host: MailHost) -> str:
    await submit(host, "alice@example.test", ["someone@elsewhere.example"])
    await host.running.dispatcher.settled()
    (entry,) = await host.running.services.queue.entries()
    (recipient,) = entry.envelope.recipients
    assert recipient.state is RecipientState.DEFERRED
    return recipient.last_reply


async def test_a_refused_login_defers_the_mail(tmp_path: Path, ca: CertificateAuthority) -> None:
    for relay, port in start_relay(ca.server_context("127.0.0.1")):
        async for internet in start_internet():
            settings = relay_settings(tmp_path / "host", port, ca, password="wrong")
            async for host in start_host_on(tmp_path / "host", internet, settings):
                reply = await deferred_reply(host)
                assert reply.startswith("4.7.8 SASL authentication failed; server ")
                assert relay.received == []


async def test_a_relay_host_with_an_unverified_certificate_never_sees_the_password(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "other-ca", "Someone Else's CA")
    for relay, port in start_relay(stranger.server_context("127.0.0.1")):
        async for internet in start_internet():
            settings = relay_settings(tmp_path / "host", port, ca)
            async for host in start_host_on(tmp_path / "host", internet, settings):
                reply = await deferred_reply(host)
                assert reply.startswith("4.7.5 TLS handshake with 127.0.0.1[127.0.0.1]:")
                assert "CERTIFICATE_VERIFY_FAILED" in reply
                assert relay.logins == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_a_relay_host_without_starttls_never_sees_the_password(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    for relay, port in start_relay(None):
        async for internet in start_internet():
            settings = relay_settings(tmp_path / "host", port, ca)
            async for host in start_host_on(tmp_path / "host", internet, settings):
                reply = await deferred_reply(host)
                assert reply.startswith("4.7.4 TLS is required, but was not offered by host")
                assert relay.logins == []
