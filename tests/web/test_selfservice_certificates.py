"""A member's own client certificates on /me/certificates: registered from PEM, listed,
removed; while any is registered, certificate logins to the account (SASL EXTERNAL over
IMAPS here, the same `CertificateLogin` every protocol asks) accept only those, and
another certificate the CA issued for the same address is refused."""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.certificate_logins import (
    LOGGED_IN,
    REFUSED,
    certificate_settings,
    every_protocol,
    imaps_external,
)
from tests.support.mail_host import MailHost, start_host
from tests.web.conftest import ADMIN_SETTINGS
from tests.web.member_pages import BOB, MAIL_LISTENERS, member_client, submit


@dataclass
class CertificateHost:
    host: MailHost
    ca: CertificateAuthority

    def bob(self, **options: object) -> ClientCertificate:
        return self.ca.client_certificate("bob", emails=[BOB], **options)  # type: ignore[arg-type]


@pytest.fixture
async def hosted(tmp_path: Path) -> AsyncIterator[CertificateHost]:
    ca = CertificateAuthority.create(tmp_path / "ca", "Community Class 1 CA")
    settings = {**ADMIN_SETTINGS, **certificate_settings(ca, [ca.write_crl(tmp_path / "ca.crl")])}
    async for host in start_host(tmp_path / "host", settings, MAIL_LISTENERS):
        yield CertificateHost(host, ca)


def pem(certificate: ClientCertificate) -> str:
    return certificate.certificate.public_bytes(serialization.Encoding.PEM).decode()


def sha256(certificate: ClientCertificate) -> str:
    return certificate.certificate.fingerprint(hashes.SHA256()).hex()


async def imaps(hosted: CertificateHost, certificate: ClientCertificate) -> str:
    return await asyncio.to_thread(imaps_external, hosted.host.port("imaps"), certificate)


async def register(hosted: CertificateHost, certificate: ClientCertificate) -> str:
    """Register `certificate` as bob's; the page shown after."""
    async with member_client(hosted.host) as client:
        answer = await submit(client, "/me/certificates", {"pem": pem(certificate)})
        assert answer.status_code == 303, answer.text
        return (await client.get(answer.headers["location"])).text


async def test_a_registered_certificate_is_listed_with_its_fingerprint(
    hosted: CertificateHost,
) -> None:
    mine = hosted.bob()
    listing = await register(hosted, mine)
    assert "The certificate was registered." in listing
    assert sha256(mine) in listing
    assert "CN=bob" in listing
    [stored] = await hosted.host.directory.account_certificates(BOB)
    assert stored.fingerprint == sha256(mine)
    assert stored.not_after == mine.certificate.not_valid_after_utc


async def test_once_registered_only_the_members_own_certificates_log_in(
    hosted: CertificateHost, caplog: pytest.LogCaptureFixture
) -> None:
    mine, other = hosted.bob(), hosted.bob()
    assert await imaps(hosted, other) == "OK"  # before: any certificate naming bob
    await register(hosted, mine)
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        assert await every_protocol(hosted.host, other) == REFUSED
    assert await every_protocol(hosted.host, mine) == LOGGED_IN
    reasons = [
        r.getMessage() for r in caplog.records if "certificate_not_registered" in r.getMessage()
    ]
    assert len(reasons) == 4
    assert f"serial={other.serial:x}" in reasons[0]


async def test_removing_the_last_certificate_lets_any_certificate_of_the_ca_in_again(
    hosted: CertificateHost,
) -> None:
    mine, other = hosted.bob(), hosted.bob()
    await register(hosted, mine)
    assert await imaps(hosted, other) != "OK"
    async with member_client(hosted.host) as client:
        answer = await submit(
            client, "/me/certificates", {}, action=f"/me/certificates/{sha256(mine)}/remove"
        )
        assert answer.status_code == 303
    assert await hosted.host.directory.account_certificates(BOB) == []
    assert await imaps(hosted, other) == "OK"
    actions = [e.action for e in await hosted.host.directory.audit_entries(actor=BOB)]
    assert actions == ["certificate.remove", "certificate.add"]


async def test_a_certificate_registered_by_one_member_cannot_be_registered_by_another(
    hosted: CertificateHost,
) -> None:
    mine = hosted.bob()
    await register(hosted, mine)
    async with member_client(hosted.host, "alice@example.test") as client:
        answer = await submit(client, "/me/certificates", {"pem": pem(mine)})
    assert answer.status_code == 400
    assert "registered already to another account" in answer.text


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        ("hello", "Paste exactly one certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable"),
        ("ca", "a CA&#39;s certificate"),
        ("expired", "The certificate expired on"),
        ("chain", "not a chain"),
        ("key", "Paste exactly one certificate"),
    ],
)
async def test_what_is_not_one_personal_certificate_is_refused(
    hosted: CertificateHost, upload: str, reason: str
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    mine = hosted.bob()
    texts = {
        "ca": hosted.ca.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "expired": pem(
            hosted.bob(
                not_before=now - datetime.timedelta(days=3),
                not_after=now - datetime.timedelta(days=1),
            )
        ),
        "chain": pem(mine) + pem(hosted.bob()),
        "key": mine.key_file.read_text(),
    }
    async with member_client(hosted.host) as client:
        answer = await submit(client, "/me/certificates", {"pem": texts.get(upload, upload)})
    assert answer.status_code == 400
    assert 'id="certificate-error"' in answer.text and reason in answer.text
    assert await hosted.host.directory.account_certificates(BOB) == []
