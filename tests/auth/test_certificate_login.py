"""Which account a client certificate logs in to (`auth.certificate_login`), against a
real directory behind a real Authenticator: the SAN's e-mail addresses first, then the
subject's emailAddress, then a configured subject attribute; the authorization identity;
the throttle; one log line per decision naming the certificate."""

from __future__ import annotations

import logging
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from mailroom.auth import AuthOutcome, MemoryThrottle
from mailroom.auth.certificate_login import CertificateLogin, PresentedCertificate
from mailroom.config.client_certificates import parse_account_source
from tests.support.auth_site import HOME, MakeSite, Site, throttle_config
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
    await site.add("bob@example.org")
    await site.add("dave@example.org", enabled=False)
    return site


async def log_in(
    login: CertificateLogin,
    certificate: x509.Certificate,
    authzid: str = "",
    problem: str | None = None,
) -> tuple[AuthOutcome, str | None]:
    presented = PresentedCertificate(certificate, problem, "what is wrong" if problem else "")
    result = await login.log_in(presented, authzid, protocol="imap", client_ip=ip_address(HOME))
    return result.outcome, result.account


async def test_the_san_email_address_names_the_account(
    members: Site, ca: CertificateAuthority
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    certificate = ca.client_certificate("Alice", emails=["Alice@Example.ORG"]).certificate
    assert await log_in(login, certificate) == (AuthOutcome.SUCCESS, "alice@example.org")


async def test_an_extra_address_names_its_account(members: Site, ca: CertificateAuthority) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    certificate = ca.client_certificate("Alice", emails=["alice.liddell@example.org"]).certificate
    assert await log_in(login, certificate) == (AuthOutcome.SUCCESS, "alice@example.org")


async def test_without_a_san_the_subject_email_address_names_it(
    members: Site, ca: CertificateAuthority
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    certificate = ca.client_certificate("Bob", subject_email="bob@example.org").certificate
    assert await log_in(login, certificate) == (AuthOutcome.SUCCESS, "bob@example.org")


async def test_the_first_source_with_a_value_decides(
    members: Site, ca: CertificateAuthority
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    certificate = ca.client_certificate(
        "Mixed", emails=["nobody@example.org"], subject_email="bob@example.org"
    ).certificate
    assert await log_in(login, certificate) == (AuthOutcome.UNKNOWN_USER, None)


async def test_a_configured_subject_attribute_gets_the_default_domain(
    members: Site, ca: CertificateAuthority
) -> None:
    sources = [*SHIPPED, parse_account_source("subject:UID")]
    login = CertificateLogin(members.authenticator, sources, default_domain="Example.org")
    uid = x509.NameAttribute(NameOID.USER_ID, "bob")
    certificate = ca.client_certificate("Bob Builder", extra_subject=[uid]).certificate
    assert await log_in(login, certificate) == (AuthOutcome.SUCCESS, "bob@example.org")
    by_oid = CertificateLogin(
        members.authenticator, [parse_account_source("subject:0.9.2342.19200300.100.1.1")]
    )
    assert await log_in(by_oid, certificate) == (AuthOutcome.UNKNOWN_USER, None)  # no domain


async def test_a_certificate_naming_nothing_usable_is_refused(
    members: Site, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        assert await log_in(login, ca.client_certificate("Nameless").certificate) == (
            AuthOutcome.UNKNOWN_USER,
            None,
        )
        not_address = ca.client_certificate("Odd", subject_email="not an address").certificate
        assert await log_in(login, not_address) == (AuthOutcome.UNKNOWN_USER, None)
    reasons = [r.getMessage() for r in caplog.records]
    assert "reason=no_identity" in reasons[0] and "san:email, subject:emailAddress" in reasons[0]
    assert "is no address" in reasons[1]


async def test_several_accounts_need_the_authorization_identity(
    members: Site, ca: CertificateAuthority
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    both = ca.client_certificate("Shared", emails=["alice@example.org", "bob@example.org"])
    assert await log_in(login, both.certificate) == (AuthOutcome.INVALID_REQUEST, None)
    assert await log_in(login, both.certificate, "bob@example.org") == (
        AuthOutcome.SUCCESS,
        "bob@example.org",
    )
    assert await log_in(login, both.certificate, "alice.liddell@example.org") == (
        AuthOutcome.SUCCESS,
        "alice@example.org",
    )


async def test_an_authorization_identity_the_certificate_does_not_name_is_refused(
    members: Site, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    alice = ca.client_certificate("Alice", emails=["alice@example.org"]).certificate
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        assert await log_in(login, alice, "bob@example.org") == (AuthOutcome.INVALID_REQUEST, None)
        assert await log_in(login, alice, "\x00not an address") == (
            AuthOutcome.INVALID_REQUEST,
            None,
        )
    assert all("reason=authzid_mismatch" in r.getMessage() for r in caplog.records)


async def test_a_disabled_account_is_refused(members: Site, ca: CertificateAuthority) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    dave = ca.client_certificate("Dave", emails=["dave@example.org"]).certificate
    assert await log_in(login, dave) == (AuthOutcome.DISABLED, None)


async def test_a_certificate_problem_is_refused_with_a_warning_naming_it(
    members: Site, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    certificate = ca.client_certificate("Alice", emails=["alice@example.org"]).certificate
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        outcome = await log_in(login, certificate, problem="certificate_revoked")
    assert outcome == (AuthOutcome.INVALID_REQUEST, None)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert f"serial={certificate.serial_number:x} subject=CN=Alice" in line
    assert 'reason=certificate_revoked detail="what is wrong"' in line


async def test_external_without_a_certificate_is_refused(members: Site) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    result = await login.log_in(None, "", protocol="pop3", client_ip=ip_address(HOME))
    assert result.outcome is AuthOutcome.INVALID_REQUEST


async def test_a_hostile_subject_stays_on_one_quoted_log_line(
    members: Site, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    login = CertificateLogin(members.authenticator, SHIPPED)
    forged = ca.client_certificate("x result=ok\nauth: result=ok account=bob@example.org")
    with caplog.at_level(logging.INFO, logger="mailroom.auth"):
        await log_in(login, forged.certificate)
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert "result=fail" in record.getMessage()


async def test_failures_count_against_the_throttle_and_a_ban_refuses_a_good_certificate(
    make_site: MakeSite, ca: CertificateAuthority
) -> None:
    throttle = MemoryThrottle(throttle_config(max_failures_per_ip=3, delay_base_seconds=0))
    site = await make_site(throttle)
    await site.add("alice@example.org")
    login = CertificateLogin(site.authenticator, SHIPPED, throttle=throttle)
    stranger = ca.client_certificate("Mallory", emails=["mallory@example.org"]).certificate
    alice = ca.client_certificate("Alice", emails=["alice@example.org"]).certificate
    for _ in range(3):
        assert (await log_in(login, stranger))[0] is AuthOutcome.UNKNOWN_USER
    assert (await log_in(login, alice))[0] is AuthOutcome.THROTTLED
