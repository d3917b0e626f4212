"""Hostile input to what client certificates parse: the account-source strings of
`[client_certificates] account_from`, the whole `[client_certificates]` table, the SASL
EXTERNAL exchange, and the names a certificate carries — each answers with a value or
its own error, never anything else."""

from __future__ import annotations

import base64
import datetime

import pydantic
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.auth.certificate_login import MAX_CANDIDATES, certificate_names, describe
from mailroom.auth.sasl import (
    MAX_FIELD_BYTES,
    Challenge,
    ExternalCredentials,
    SaslExchange,
    SaslFailure,
)
from mailroom.config.client_certificates import (
    SUBJECT_ATTRIBUTES,
    AccountSource,
    ClientCertificatesConfig,
    parse_account_source,
)
from mailroom.net.client_certificates import distribution_points, load_certificate

source_texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["san:email", "SAN:EMAIL", "subject:", "subject:CN", ":", "subject:1.2"]),
    st.builds(lambda attribute: f"subject:{attribute}", st.text(max_size=40)),
    st.builds(
        lambda parts: "subject:" + ".".join(str(p) for p in parts),
        st.lists(st.integers(min_value=-5, max_value=10**12), max_size=8),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(source_texts)
def test_an_account_source_parses_or_says_why(text: str) -> None:
    try:
        source = parse_account_source(text)
    except ValueError as error:
        assert str(error)
        return
    assert isinstance(source, AccountSource)
    assert parse_account_source(str(source)) == source  # what we print reads back
    assert (
        source.attribute is None
        or source.attribute in SUBJECT_ATTRIBUTES
        or (source.attribute.replace(".", "").isdigit())
    )


@given(st.sampled_from(sorted(SUBJECT_ATTRIBUTES)))
def test_every_named_attribute_is_accepted(attribute: str) -> None:
    assert parse_account_source(f"subject:{attribute}") == AccountSource(attribute)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=50),
    st.lists(st.one_of(st.text(max_size=40), st.integers()), max_size=10),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)
keys = st.sampled_from(
    [
        "listeners",
        "ca_file",
        "crl_files",
        "require_crl",
        "fetch_crls",
        "fetch_timeout_seconds",
        "fetch_max_size",
        "fetch_retry_seconds",
        "account_from",
        "unknown_key",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_the_table_validates_or_names_the_problem(table: dict[str, object]) -> None:
    try:
        config = ClientCertificatesConfig.model_validate(table)
    except pydantic.ValidationError as error:
        assert error.errors()
        return
    assert config.sources  # every accepted list parses, and is never empty
    assert not config.listeners or config.ca_file is not None
    assert config.fetch_timeout_seconds > 0
    assert 0 <= config.fetch_max_size <= 512 * 1024 * 1024


raw_lines = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=2000).map(base64.b64encode),
    st.sampled_from([b"*", b"=", b"", b"\r\n", b"AA==", b"AGEA"]),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.none(), raw_lines), st.lists(raw_lines, max_size=3))
def test_external_answers_every_client_with_a_step(
    initial: bytes | None, lines: list[bytes]
) -> None:
    exchange = SaslExchange("external")
    step = exchange.start(initial)
    for line in lines:
        if not isinstance(step, Challenge):
            break
        step = exchange.respond(line)
    assert isinstance(step, Challenge | ExternalCredentials | SaslFailure)
    if isinstance(step, ExternalCredentials):
        assert "\x00" not in step.authzid
        assert len(step.authzid.encode()) <= MAX_FIELD_BYTES


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=200
    ).filter(lambda text: len(text.encode()) <= MAX_FIELD_BYTES)
)
def test_external_round_trips_the_authorization_identity(authzid: str) -> None:
    encoded = base64.b64encode(authzid.encode()) if authzid else b"="
    assert SaslExchange("EXTERNAL").start(encoded) == ExternalCredentials(authzid)
    exchange = SaslExchange("EXTERNAL")
    assert exchange.start(None) == Challenge(b"")  # RFC 4422 Appendix A.1
    assert exchange.respond(base64.b64encode(authzid.encode())) == ExternalCredentials(authzid)


_KEY = ec.generate_private_key(ec.SECP256R1())
_NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=64)


def certificate(emails: list[str], subject: list[tuple[str, str]]) -> x509.Certificate:
    oids = {
        "CN": NameOID.COMMON_NAME,
        "UID": NameOID.USER_ID,
        "emailAddress": NameOID.EMAIL_ADDRESS,
    }
    name = x509.Name([x509.NameAttribute(oids[k], v) for k, v in subject] or [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(_NOW)
        .not_valid_after(_NOW + datetime.timedelta(days=1))
    )
    if emails:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(e) for e in emails]), critical=False
        )
    return builder.sign(_KEY, hashes.SHA256())


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(printable.filter(bool), max_size=30),
    st.lists(
        st.tuples(st.sampled_from(["CN", "UID", "emailAddress"]), printable.filter(bool)),
        max_size=5,
    ),
)
def test_the_names_of_a_certificate_come_from_the_first_source_that_has_any(
    emails: list[str], subject: list[tuple[str, str]]
) -> None:
    try:
        cert = certificate(emails, subject)
    except ValueError:
        return  # cryptography refuses it (e.g. an rfc822Name it cannot encode)
    sources = [parse_account_source(t) for t in ("san:email", "subject:emailAddress", "subject:CN")]
    source, names = certificate_names(cert, sources)
    assert len(names) <= MAX_CANDIDATES
    if emails:
        assert source == sources[0] and names == emails[:MAX_CANDIDATES]
    elif not subject:
        assert (source, names) == (None, [])


def test_a_subject_cryptography_cannot_read_names_nothing() -> None:
    """Found by fuzz/harnesses/client_certificates.py (corpus: crash-bitstring-subject):
    a BIT STRING attribute under another OID than x500UniqueIdentifier (OpenSSL verifies
    it without a complaint) made reading the subject raise TypeError, out of the login."""
    unique = x509.NameAttribute(
        NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01", x509.name._ASN1Type.BitString
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([unique]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(_KEY.public_key())
        .serial_number(0xABC)
        .not_valid_before(_NOW)
        .not_valid_after(_NOW + datetime.timedelta(days=1))
    )
    der = builder.sign(_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    unique_oid, organization_oid = b"\x06\x03\x55\x04\x2d", b"\x06\x03\x55\x04\x0a"
    cert = x509.load_der_x509_certificate(der.replace(unique_oid, organization_oid, 1))
    with pytest.raises(TypeError):
        _ = cert.subject
    sources = [parse_account_source(t) for t in ("subject:O", "subject:CN")]
    assert certificate_names(cert, sources) == (None, [])
    assert describe(cert) == ("abc", "(unreadable subject)")


def test_an_extension_cryptography_cannot_read_names_nothing() -> None:
    """Found by fuzz/harnesses/client_certificates.py (corpus: crash-unreadable-san):
    cryptography reads the extensions when first asked, and a subjectAltName entry that
    is no IA5String raised ValueError out of the login (and out of the CRL distribution
    points' reader)."""
    point = x509.DistributionPoint(
        [x509.UniformResourceIdentifier("http://crl.example/ca.crl")], None, None, None
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(_NOW)
        .not_valid_after(_NOW + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("alice@example.org")]), False)
        .add_extension(x509.CRLDistributionPoints([point]), False)
    )
    der = builder.sign(_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    cert = x509.load_der_x509_certificate(der.replace(b"alice@", b"alic\xe9@", 1))
    with pytest.raises(ValueError):
        _ = cert.extensions
    sources = [parse_account_source(t) for t in ("san:email", "subject:CN")]
    assert certificate_names(cert, sources) == (sources[1], ["alice"])
    assert distribution_points(cert) == []


def test_a_certificate_of_an_unknown_version_is_not_one() -> None:
    """Found by fuzz/harnesses/client_certificates.py (corpus: crash-certificate-version):
    cryptography raises its InvalidVersion, no ValueError, for a version it does not
    know, and the presented certificate's check let it out."""
    der = certificate(["alice@example.org"], []).public_bytes(serialization.Encoding.DER)
    version_three = b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT INTEGER 2: v3
    assert version_three in der
    assert load_certificate(der) is not None
    assert load_certificate(der.replace(version_three, b"\xa0\x03\x02\x01\x5d", 1)) is None


@pytest.mark.parametrize("text", ["san:email", "subject:emailAddress", "subject:2.5.4.3"])
def test_shipped_and_oid_sources_parse(text: str) -> None:
    assert str(parse_account_source(text)) == text
