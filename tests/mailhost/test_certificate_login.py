"""Members log in with their client certificates (SASL EXTERNAL), as the legacy host's
community CA's members would: over submission (smtplib), IMAPS (imaplib), POP3S
(poplib) and ManageSieve (a line-level client), against a whole host on loopback. A
revoked and an expired certificate are refused with the protocol's failure and one log
line naming the certificate; a CRL file replaced while the host runs counts at once."""

from __future__ import annotations

import asyncio
import base64
import datetime
import imaplib
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mailroom.config.example import ListenerExample
from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.certificate_logins import (
    LOGGED_IN,
    REFUSED,
    certificate_settings,
    every_protocol,
    imaps_external,
    submission_external,
)
from tests.support.crl_server import start_crl_server
from tests.support.mail_host import LISTENERS, PASSWORD, MailHost, client_tls, start_host

ALICE = "alice@example.test"
CERTIFICATE_LISTENERS = (
    *LISTENERS,
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
    ListenerExample("sieve", "managesieve", 0, "starttls"),
)
HOUR = datetime.timedelta(hours=1)


@dataclass
class CertificateHost:
    host: MailHost
    ca: CertificateAuthority
    crl_file: Path

    def member(self, address: str = ALICE, **options: object) -> ClientCertificate:
        return self.ca.client_certificate(address.split("@")[0], emails=[address], **options)  # type: ignore[arg-type]


@pytest.fixture
async def certificate_host(tmp_path: Path) -> AsyncIterator[CertificateHost]:
    ca = CertificateAuthority.create(tmp_path / "members-ca", "Community Class 1 CA")
    crl_file = ca.write_crl(tmp_path / "members.crl")
    settings = certificate_settings(ca, [crl_file])
    async for host in start_host(tmp_path / "host", settings, CERTIFICATE_LISTENERS):
        yield CertificateHost(host, ca, crl_file)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if "mechanism=EXTERNAL" in record.getMessage() and "result=fail" in record.getMessage()
    ]


async def test_a_member_certificate_logs_in_over_every_protocol(
    certificate_host: CertificateHost, caplog: pytest.LogCaptureFixture
) -> None:
    certificate = certificate_host.member()
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        answers = await every_protocol(certificate_host.host, certificate)
    assert answers == LOGGED_IN
    serial = f"serial={certificate.serial:x}"
    successes = [r.getMessage() for r in caplog.records if serial in r.getMessage()]
    assert len(successes) == 4
    assert all("result=ok account=alice@example.test" in line for line in successes)


async def test_smtps_takes_external_with_an_implicit_tls_certificate(
    certificate_host: CertificateHost,
) -> None:
    certificate = certificate_host.member()

    def smtps() -> tuple[int, bytes]:
        port = certificate_host.host.port("smtps")
        with smtplib.SMTP_SSL("127.0.0.1", port, context=certificate.context(), timeout=30) as smtp:
            smtp.ehlo()
            code = smtp.auth("EXTERNAL", lambda challenge=None: "", initial_response_ok=False)
            smtp.sendmail(
                ALICE, ["bob@example.test"], b"Subject: signed in\r\n\r\nby certificate\r\n"
            )
            return code

    assert (await asyncio.to_thread(smtps))[0] == 235
    assert len(await certificate_host.host.delivered("bob@example.test")) == 1


async def test_a_revoked_certificate_is_refused_over_every_protocol_with_a_log_line(
    certificate_host: CertificateHost, caplog: pytest.LogCaptureFixture
) -> None:
    certificate = certificate_host.member()
    certificate_host.ca.write_crl(certificate_host.crl_file, [certificate.serial])
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        answers = await every_protocol(certificate_host.host, certificate)
    assert answers == REFUSED
    lines = refusals(caplog)
    assert len(lines) == 4
    for line in lines:
        assert f"serial={certificate.serial:x}" in line
        assert "subject=CN=alice" in line
        assert "reason=certificate_revoked" in line
        assert "(keyCompromise)" in line


async def test_an_expired_certificate_is_refused_over_every_protocol_with_a_log_line(
    certificate_host: CertificateHost, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    certificate = certificate_host.member(not_before=now - 48 * HOUR, not_after=now - HOUR)
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        answers = await every_protocol(certificate_host.host, certificate)
    assert answers == REFUSED
    lines = refusals(caplog)
    assert len(lines) == 4
    assert all("reason=certificate_expired" in line for line in lines)
    assert all(f"serial={certificate.serial:x}" in line for line in lines)


async def test_a_crl_file_replaced_while_running_counts_at_once(
    certificate_host: CertificateHost,
) -> None:
    certificate = certificate_host.member()
    port = certificate_host.host.port("imaps")
    assert await asyncio.to_thread(imaps_external, port, certificate) == "OK"
    certificate_host.ca.write_crl(certificate_host.crl_file, [certificate.serial])
    assert "AUTHENTICATIONFAILED" in await asyncio.to_thread(imaps_external, port, certificate)
    # A newer CRL without it (a certificateHold lifted): it logs in again.
    certificate_host.ca.write_crl(certificate_host.crl_file, [])
    assert await asyncio.to_thread(imaps_external, port, certificate) == "OK"


async def test_the_certificate_may_act_only_as_an_account_it_names(
    certificate_host: CertificateHost,
) -> None:
    certificate = certificate_host.member()
    port = certificate_host.host.port("submission")
    other_address = await asyncio.to_thread(
        submission_external, port, certificate, "alice.liddell@example.test"
    )
    assert other_address[0] == 235
    someone_else = await asyncio.to_thread(
        submission_external, port, certificate, "bob@example.test"
    )
    assert someone_else[0] == 535


async def test_a_certificate_of_an_unknown_ca_fails_the_handshake_and_passwords_still_work(
    certificate_host: CertificateHost, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger", "Someone Else's CA")
    certificate = stranger.client_certificate("alice", emails=[ALICE])
    port = certificate_host.host.port("imaps")
    with pytest.raises((ssl.SSLError, imaplib.IMAP4.abort, ConnectionError)):
        await asyncio.to_thread(imaps_external, port, certificate)

    def password_login() -> tuple[list[str], str]:
        with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_tls()) as imap:
            offered = list(imap.capabilities)
            status, _ = imap.login(ALICE, PASSWORD)
            return offered, status

    offered, status = await asyncio.to_thread(password_login)
    assert status == "OK"
    assert "AUTH=EXTERNAL" not in offered  # no certificate presented: not offered


async def test_external_without_a_certificate_is_refused(certificate_host: CertificateHost) -> None:
    def attempt() -> tuple[str, tuple[int, bytes]]:
        with smtplib.SMTP(
            "127.0.0.1", certificate_host.host.port("submission"), timeout=30
        ) as smtp:
            smtp.starttls(context=client_tls())
            smtp.ehlo()
            offered = smtp.esmtp_features["auth"]
            code, text = smtp.docmd("AUTH", "EXTERNAL =")
            return offered, (code, text)

    offered, answer = await asyncio.to_thread(attempt)
    assert "EXTERNAL" not in offered.split()
    assert answer[0] == 535


async def test_an_initial_response_names_the_authorization_identity(
    certificate_host: CertificateHost,
) -> None:
    certificate = certificate_host.member()

    def attempt() -> tuple[int, bytes]:
        with smtplib.SMTP(
            "127.0.0.1", certificate_host.host.port("submission"), timeout=30
        ) as smtp:
            smtp.starttls(context=certificate.context())
            smtp.ehlo()
            authzid = base64.b64encode(ALICE.encode()).decode()
            return smtp.docmd("AUTH", f"EXTERNAL {authzid}")

    assert (await asyncio.to_thread(attempt))[0] == 235


async def test_the_crl_is_fetched_from_the_certificates_distribution_point(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = CertificateAuthority.create(tmp_path / "members-ca", "Community Class 1 CA")
    settings = certificate_settings(ca, [], **{"# fetch_crls = false": "fetch_crls = true"})
    async for crl_server in start_crl_server():
        async for host in start_host(tmp_path / "host", settings, CERTIFICATE_LISTENERS):
            url = crl_server.url("/class1.crl")
            good = ca.client_certificate("alice", emails=[ALICE], crl_url=url)
            revoked = ca.client_certificate("alice", emails=[ALICE], crl_url=url)
            crl_server.files["/class1.crl"] = ca.crl([revoked.serial]).public_bytes(
                serialization.Encoding.DER
            )
            port = host.port("imaps")
            with caplog.at_level(logging.INFO, logger="mailroom"):
                assert await asyncio.to_thread(imaps_external, port, good) == "OK"
                refused = await asyncio.to_thread(imaps_external, port, revoked)
            assert "AUTHENTICATIONFAILED" in refused
            assert crl_server.requests["/class1.crl"] == 1
            assert any(
                f"CRL of CN=Community Class 1 CA fetched from {url}" in r.getMessage()
                for r in caplog.records
            )
            assert (
                len([line for line in refusals(caplog) if "reason=certificate_revoked" in line])
                == 1
            )


async def test_a_certificate_of_an_intermediate_ca_in_the_bundle_logs_in(tmp_path: Path) -> None:
    root = CertificateAuthority.create(tmp_path / "root", "Community Class 1 CA")
    sub = root.intermediate(tmp_path / "class3", "Community Class 3 CA")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(root.ca_file.read_bytes() + sub.ca_file.read_bytes())
    crls = [root.write_crl(tmp_path / "class1.crl"), sub.write_crl(tmp_path / "class3.crl")]
    settings = certificate_settings(root, crls)
    settings['# ca_file = "tls/client-ca.pem"  # example; default: none'] = f'ca_file = "{bundle}"'
    async for host in start_host(tmp_path / "host", settings, CERTIFICATE_LISTENERS):
        certificate = sub.client_certificate("alice", emails=[ALICE])
        assert await asyncio.to_thread(imaps_external, host.port("imaps"), certificate) == "OK"
