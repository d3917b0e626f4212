"""The check of a presented client certificate (`net.client_certificates`): its dates,
its issuer in the CA bundle, and revocation by the CRLs of `crl_store` — files read
again when they change, and the distribution point fetched from a loopback HTTP server
when the file is stale or absent."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mailroom.config import parse_config
from mailroom.config.client_certificates import ClientCertificatesConfig
from mailroom.net import CertificateError, TlsContexts
from mailroom.net.certificates import write_self_signed_certificate
from mailroom.net.client_certificates import X509_V_FLAG_NO_CHECK_TIME, ClientCertificates
from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.crl_server import CrlServer, start_crl_server
from tests.support.fake_clock import FakeClock

HOUR = datetime.timedelta(hours=1)
DP = "/class1.crl"


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "ca", "Community Class 1 CA")


@pytest.fixture
async def crl_server() -> AsyncIterator[CrlServer]:
    async for server in start_crl_server():
        yield server


def checker(
    ca: CertificateAuthority,
    crl_files: list[Path],
    clock: FakeClock | None = None,
    **settings: object,
) -> ClientCertificates:
    config = ClientCertificatesConfig(
        listeners=["imaps"],
        ca_file=ca.ca_file,
        crl_files=crl_files,
        **settings,
    )
    return ClientCertificates(config, lambda path: path, clock or time.time)


async def problem(certificates: ClientCertificates, certificate: ClientCertificate) -> str | None:
    der = certificate.certificate.public_bytes(serialization.Encoding.DER)
    presented = await certificates.check(der)
    assert presented is not None
    return presented.problem


def member(ca: CertificateAuthority, **options: object) -> ClientCertificate:
    return ca.client_certificate("alice", emails=["alice@example.org"], **options)  # type: ignore[arg-type]


async def test_a_good_certificate_has_no_problem(ca: CertificateAuthority, tmp_path: Path) -> None:
    certificates = checker(ca, [ca.write_crl(tmp_path / "ca.crl")])
    assert await problem(certificates, member(ca)) is None


async def test_a_certificate_in_a_der_crl_is_revoked(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    certificate = member(ca)
    crl_file = tmp_path / "ca.der"
    crl_file.write_bytes(ca.crl([certificate.serial]).public_bytes(serialization.Encoding.DER))
    certificates = checker(ca, [crl_file])
    presented = await certificates.check(
        certificate.certificate.public_bytes(serialization.Encoding.DER)
    )
    assert presented is not None
    assert presented.problem == "certificate_revoked"
    assert "(keyCompromise)" in presented.detail
    assert "CN=Community Class 1 CA" in presented.detail


async def test_expired_and_not_yet_valid_certificates(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    certificates = checker(ca, [ca.write_crl(tmp_path / "ca.crl")])
    expired = member(ca, not_before=now - 48 * HOUR, not_after=now - HOUR)
    early = member(ca, not_before=now + HOUR, not_after=now + 48 * HOUR)
    assert await problem(certificates, expired) == "certificate_expired"
    assert await problem(certificates, early) == "certificate_not_yet_valid"


async def test_a_certificate_of_a_ca_outside_the_bundle_has_an_unknown_issuer(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger", "Community Class 1 CA")
    certificates = checker(ca, [ca.write_crl(tmp_path / "ca.crl")])
    # Same name, other key: the signature decides, not the name.
    assert await problem(certificates, member(stranger)) == "unknown_issuer"


async def test_a_crl_signed_by_another_ca_is_ignored(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    impostor = CertificateAuthority.create(tmp_path / "impostor", "Community Class 1 CA")
    certificates = checker(ca, [impostor.write_crl(tmp_path / "forged.crl")])
    assert await problem(certificates, member(ca)) == "crl_unavailable"


async def test_without_a_crl_the_certificate_is_refused_unless_crls_are_optional(
    ca: CertificateAuthority,
) -> None:
    assert await problem(checker(ca, []), member(ca)) == "crl_unavailable"
    assert await problem(checker(ca, [], require_crl=False), member(ca)) is None


async def test_a_replaced_crl_file_is_read_again(ca: CertificateAuthority, tmp_path: Path) -> None:
    certificate = member(ca)
    crl_file = ca.write_crl(tmp_path / "ca.crl")
    certificates = checker(ca, [crl_file])
    assert await problem(certificates, certificate) is None
    ca.write_crl(crl_file, [certificate.serial])
    assert await problem(certificates, certificate) == "certificate_revoked"


async def test_a_broken_replacement_keeps_the_crl_read_before(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    certificate = member(ca)
    crl_file = ca.write_crl(tmp_path / "ca.crl", [certificate.serial])
    certificates = checker(ca, [crl_file])
    assert await problem(certificates, certificate) == "certificate_revoked"
    crl_file.write_bytes(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    assert await problem(certificates, certificate) == "certificate_revoked"
    crl_file.unlink()
    assert await problem(certificates, certificate) == "certificate_revoked"


async def test_a_stale_crl_still_revokes_but_vouches_for_nobody(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    revoked, good = member(ca), member(ca)
    crl_file = ca.write_crl(
        tmp_path / "ca.crl", [revoked.serial], this_update=now - 48 * HOUR, next_update=now - HOUR
    )
    certificates = checker(ca, [crl_file])
    assert await problem(certificates, revoked) == "certificate_revoked"
    assert await problem(certificates, good) == "crl_expired"


async def test_a_stale_file_is_replaced_by_the_distribution_points_crl(
    ca: CertificateAuthority, tmp_path: Path, crl_server: CrlServer
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    good = member(ca, crl_url=crl_server.url(DP))
    revoked = member(ca, crl_url=crl_server.url(DP))
    stale = ca.write_crl(tmp_path / "ca.crl", this_update=now - 48 * HOUR, next_update=now - HOUR)
    crl_server.files[DP] = ca.crl([revoked.serial]).public_bytes(serialization.Encoding.DER)
    certificates = checker(ca, [stale], fetch_crls=True)
    assert await problem(certificates, good) is None
    assert await problem(certificates, revoked) == "certificate_revoked"
    assert crl_server.requests[DP] == 1  # kept until its nextUpdate


async def test_checks_at_once_fetch_once(ca: CertificateAuthority, crl_server: CrlServer) -> None:
    crl_server.files[DP] = ca.crl().public_bytes(serialization.Encoding.PEM)
    certificates = checker(ca, [], fetch_crls=True)
    members = [member(ca, crl_url=crl_server.url(DP)) for _ in range(5)]
    problems = await asyncio.gather(*(problem(certificates, m) for m in members))
    assert problems == [None] * 5
    assert crl_server.requests[DP] == 1


async def test_a_failed_fetch_waits_before_the_next_try(
    ca: CertificateAuthority, crl_server: CrlServer
) -> None:
    clock = FakeClock(time.time())
    certificates = checker(ca, [], clock, fetch_crls=True, fetch_retry_seconds=300)
    certificate = member(ca, crl_url=crl_server.url(DP))  # the server has no such file
    assert await problem(certificates, certificate) == "crl_unavailable"
    assert await problem(certificates, certificate) == "crl_unavailable"
    assert crl_server.requests[DP] == 1
    crl_server.files[DP] = ca.crl().public_bytes(serialization.Encoding.DER)
    clock.advance(301)
    assert await problem(certificates, certificate) is None
    assert crl_server.requests[DP] == 2


async def test_a_silent_distribution_point_is_given_up_after_the_time_limit(
    ca: CertificateAuthority, crl_server: CrlServer
) -> None:
    crl_server.silent = True
    certificates = checker(ca, [], fetch_crls=True, fetch_timeout_seconds=0.5)
    assert await problem(certificates, member(ca, crl_url=crl_server.url(DP))) == "crl_unavailable"


async def test_a_crl_over_the_size_limit_is_not_taken(
    ca: CertificateAuthority, crl_server: CrlServer
) -> None:
    crl_server.files[DP] = ca.crl(list(range(1, 400))).public_bytes(serialization.Encoding.DER)
    assert len(crl_server.files[DP]) > 4096
    certificates = checker(ca, [], fetch_crls=True, fetch_max_size=4096)
    assert await problem(certificates, member(ca, crl_url=crl_server.url(DP))) == "crl_unavailable"


async def test_a_fetched_crl_of_another_ca_is_not_taken(
    ca: CertificateAuthority, crl_server: CrlServer, tmp_path: Path
) -> None:
    impostor = CertificateAuthority.create(tmp_path / "impostor", "Community Class 1 CA")
    crl_server.files[DP] = impostor.crl().public_bytes(serialization.Encoding.DER)
    certificates = checker(ca, [], fetch_crls=True)
    assert await problem(certificates, member(ca, crl_url=crl_server.url(DP))) == "crl_unavailable"


async def test_no_fetch_unless_allowed(ca: CertificateAuthority, crl_server: CrlServer) -> None:
    crl_server.files[DP] = ca.crl().public_bytes(serialization.Encoding.DER)
    certificates = checker(ca, [])
    assert await problem(certificates, member(ca, crl_url=crl_server.url(DP))) == "crl_unavailable"
    assert crl_server.requests[DP] == 0


def tls_config(
    tmp_path: Path, ca: CertificateAuthority, listeners: str, tls: str = "implicit"
) -> str:
    write_self_signed_certificate(tmp_path / "cert.pem", tmp_path / "key.pem", "mail.example.org")
    return f"""
[tls]
certificate = "{tmp_path / "cert.pem"}"
key = "{tmp_path / "key.pem"}"
[client_certificates]
listeners = {listeners}
ca_file = "{ca.ca_file}"
[[listeners]]
name = "imaps"
protocol = "imap"
address = "127.0.0.1:0"
tls = "{tls}"
[[listeners]]
name = "imap"
protocol = "imap"
address = "127.0.0.1:0"
[[listeners]]
name = "smtp"
protocol = "smtp"
address = "127.0.0.1:0"
"""


def test_only_the_named_listeners_ask_for_certificates(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    config = parse_config(tls_config(tmp_path, ca, '["imaps"]'), tmp_path / "m.toml")
    contexts = TlsContexts(config)
    asking = contexts.for_listener("imaps")
    assert asking.verify_mode is ssl.CERT_OPTIONAL
    assert asking.verify_flags & X509_V_FLAG_NO_CHECK_TIME
    assert contexts.for_listener("imap").verify_mode is ssl.CERT_NONE
    assert contexts.reload()


@pytest.mark.parametrize(
    ("listeners", "tls", "message"),
    [
        ('["imap4"]', "implicit", "which is no listener"),
        ('["imaps"]', "none", "whose tls is none"),
        ('["smtp"]', "implicit", "a smtp listener"),
    ],
)
def test_a_listener_that_cannot_ask_is_refused_at_start(
    ca: CertificateAuthority, tmp_path: Path, listeners: str, tls: str, message: str
) -> None:
    config = parse_config(tls_config(tmp_path, ca, listeners, tls), tmp_path / "m.toml")
    with pytest.raises(CertificateError, match=message):
        TlsContexts(config)


def chain_checker(
    root: CertificateAuthority, sub: CertificateAuthority, tmp_path: Path, crl_files: list[Path]
) -> ClientCertificates:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(root.ca_file.read_bytes() + sub.ca_file.read_bytes())
    config = ClientCertificatesConfig(listeners=["imaps"], ca_file=bundle, crl_files=crl_files)
    return ClientCertificates(config, lambda path: path)


async def test_an_intermediate_cas_certificate_is_checked_against_its_own_crl(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    sub = ca.intermediate(tmp_path / "class3", "Community Class 3 CA")
    good, revoked = member(sub), member(sub)
    root_crl = ca.write_crl(tmp_path / "root.crl", [revoked.serial])  # the root's: not theirs
    assert await problem(chain_checker(ca, sub, tmp_path, [root_crl]), good) == "crl_unavailable"
    sub_crl = sub.write_crl(tmp_path / "class3.crl", [revoked.serial])
    certificates = chain_checker(ca, sub, tmp_path, [root_crl, sub_crl])
    assert await problem(certificates, good) is None
    assert await problem(certificates, revoked) == "certificate_revoked"


async def test_a_certificate_under_an_expired_intermediate_is_refused(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    sub = ca.intermediate(tmp_path / "class3", "Community Class 3 CA", not_after=now - HOUR)
    crl = sub.write_crl(tmp_path / "class3.crl")
    assert await problem(chain_checker(ca, sub, tmp_path, [crl]), member(sub)) == "issuer_expired"


async def test_a_fetched_crl_is_kept_across_a_restart(
    ca: CertificateAuthority, crl_server: CrlServer, tmp_path: Path
) -> None:
    good = member(ca, crl_url=crl_server.url(DP))
    revoked = member(ca, crl_url=crl_server.url(DP))
    crl_server.files[DP] = ca.crl([revoked.serial]).public_bytes(serialization.Encoding.DER)
    config = ClientCertificatesConfig(listeners=["imaps"], ca_file=ca.ca_file, fetch_crls=True)
    cache = tmp_path / "data" / "crl-cache"
    before = ClientCertificates(config, lambda path: path, cache_directory=cache)
    assert await problem(before, good) is None
    del crl_server.files[DP]  # the CA's server is down when the host starts again
    after = ClientCertificates(config, lambda path: path, cache_directory=cache)
    assert await problem(after, good) is None
    assert await problem(after, revoked) == "certificate_revoked"
    assert crl_server.requests[DP] == 1
    assert len(list(cache.iterdir())) == 1
