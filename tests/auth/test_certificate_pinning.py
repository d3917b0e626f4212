"""Certificate logins pinned to a member's registered certificates
(`auth.certificate_login`): with none registered any certificate of the CA naming the
account logs in; with some, only those, whichever address of the account the
certificate names; a registration or removal counts at the next login."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mailroom.auth import AuthOutcome
from mailroom.auth.certificate_login import CertificateLogin, PresentedCertificate, fingerprint
from mailroom.config.client_certificates import parse_account_source
from tests.support.auth_site import HOME, MakeSite, Site
from tests.support.certificate_authority import CertificateAuthority

SHIPPED = [parse_account_source("san:email"), parse_account_source("subject:emailAddress")]


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "ca")


@pytest.fixture
async def members(make_site: MakeSite) -> Site:
    site = await make_site()
    await site.add("alice@example.org")
    await site.directory.add_address("alice@example.org", "alice.liddell@example.org")
    return site


async def outcome(site: Site, certificate: x509.Certificate) -> AuthOutcome:
    login = CertificateLogin(site.authenticator, SHIPPED)
    result = await login.log_in(
        PresentedCertificate(certificate), "", protocol="imap", client_ip=ip_address(HOME)
    )
    return result.outcome


async def register(site: Site, certificate: x509.Certificate) -> None:
    await site.directory.add_certificate(
        "alice@example.org", fingerprint(certificate), "CN=alice", datetime(2030, 1, 1, tzinfo=UTC)
    )


def test_the_fingerprint_is_the_sha256_of_the_der_certificate(ca: CertificateAuthority) -> None:
    certificate = ca.client_certificate("alice", emails=["alice@example.org"]).certificate
    assert fingerprint(certificate) == certificate.fingerprint(hashes.SHA256()).hex()
    assert len(fingerprint(certificate)) == 64


async def test_only_registered_certificates_log_in_once_any_is(
    members: Site, ca: CertificateAuthority
) -> None:
    mine = ca.client_certificate("alice", emails=["alice@example.org"]).certificate
    other = ca.client_certificate("alice", emails=["alice@example.org"]).certificate
    extra = ca.client_certificate("alice", emails=["alice.liddell@example.org"]).certificate
    assert await outcome(members, other) is AuthOutcome.SUCCESS
    await register(members, mine)
    assert await outcome(members, mine) is AuthOutcome.SUCCESS
    assert await outcome(members, other) is AuthOutcome.INVALID_REQUEST
    assert await outcome(members, extra) is AuthOutcome.INVALID_REQUEST
    await members.directory.remove_certificate("alice@example.org", fingerprint(mine))
    assert await outcome(members, other) is AuthOutcome.SUCCESS
