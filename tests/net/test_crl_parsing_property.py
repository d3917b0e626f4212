"""Hostile input to what the CRL code parses: distribution-point URLs from certificates,
HTTP responses from distribution points, and CRL files — each yields a value or its own
error, never anything else, and never more than the bounds allow."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.net.crl_fetch import (
    MAX_URL_LENGTH,
    CrlFetchError,
    CrlUrl,
    parse_crl_url,
    parse_response,
)
from mailroom.net.crl_store import parse_crls

url_texts = st.one_of(
    st.text(max_size=300),
    st.builds(lambda rest: "http://" + rest, st.text(max_size=100)),
    st.sampled_from(
        [
            "http://",
            "http://:80/",
            "http://[::1]:0/x",
            "http://a:99999/",
            "https://ca.example/crl",
            "ldap://ca.example/cn=crl",
            "http://user@ca.example/crl",
            "http://ca.example/crl?x=1",
            "http://ca.example/crl#f",
            "http://[::1/x",
            "http://ca.example" + "/a" * 2000,
        ]
    ),
)


@settings(max_examples=1000, deadline=None)
@given(url_texts)
def test_a_url_parses_or_is_refused(text: str) -> None:
    try:
        url = parse_crl_url(text)
    except CrlFetchError as error:
        assert str(error)
        return
    assert isinstance(url, CrlUrl)
    assert 0 < url.port < 65536
    assert url.path.startswith("/")
    assert len(text) <= MAX_URL_LENGTH
    assert not any(c in url.path + url.host for c in " \r\n?#")  # nothing to inject a header
    assert parse_crl_url(str(url)) == url


@given(
    st.sampled_from(["ca.example", "127.0.0.1", "[::1]", "crl.cacert.org"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    st.sampled_from(["", "/", "/revoke.crl", "/a/b%20c.crl"]),
)
def test_a_plain_http_url_reads_back(host: str, port: int | None, path: str) -> None:
    text = f"http://{host}" + (f":{port}" if port else "") + path
    url = parse_crl_url(text)
    assert url.port == (port or 80)
    assert url.path == (path or "/")


heads = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"HTTP/1.0 200 OK",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
            b"HTTP/1.1 404 Not Found",
            b"HTTP/1.1 200 OK\r\nbad header",
            b"HTTP/2 200",
        ]
    ),
)


@settings(max_examples=1000, deadline=None)
@given(heads, st.binary(max_size=300), st.integers(min_value=0, max_value=200))
def test_a_response_yields_a_bounded_body_or_is_refused(
    head: bytes, body: bytes, max_body: int
) -> None:
    try:
        result = parse_response(head + b"\r\n\r\n" + body, max_body)
    except CrlFetchError as error:
        assert str(error)
        return
    assert len(result) <= max_body
    assert head.startswith(b"HTTP/1.") and head[9:12] == b"200"


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=500),
        st.builds(
            lambda inner: b"-----BEGIN X509 CRL-----\n" + inner + b"\n-----END X509 CRL-----\n",
            st.binary(max_size=300),
        ),
        st.binary(max_size=200).map(lambda data: b"\x30\x82" + data),
    )
)
def test_a_crl_file_parses_or_raises_value_error(data: bytes) -> None:
    try:
        crls = parse_crls(data)
    except ValueError:
        return
    assert crls


def test_a_crl_of_an_unknown_version_raises_value_error() -> None:
    """Found by fuzz/harnesses/crl_fetch.py (corpus: crash-crl-version): cryptography
    raises its InvalidVersion, not a ValueError, which the readers of files and fetched
    CRLs did not catch."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = crl.public_bytes(serialization.Encoding.DER)
    version_two = b"\x02\x01\x01"  # INTEGER 1: v2, the first INTEGER of the tbsCertList
    assert version_two in der
    bad = der.replace(version_two, b"\x02\x01\x0a", 1)
    pem = b"-----BEGIN X509 CRL-----\n" + base64.encodebytes(bad) + b"-----END X509 CRL-----\n"
    for data in (bad, pem):
        with pytest.raises(ValueError, match="not a CRL"):
            parse_crls(data)


def test_a_crl_whose_issuer_cannot_be_read_raises_value_error() -> None:
    """An issuer name cryptography refuses to build (a BIT STRING under another OID than
    x500UniqueIdentifier) raised TypeError where a CRL file's reader compares it, not
    where the file is parsed: now parse_crls refuses the file."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    unique = x509.NameAttribute(
        NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01", x509.name._ASN1Type.BitString
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([unique]))
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = crl.public_bytes(serialization.Encoding.DER)
    unique_oid, organization_oid = b"\x06\x03\x55\x04\x2d", b"\x06\x03\x55\x04\x0a"
    with pytest.raises(ValueError, match="not a CRL"):
        parse_crls(der.replace(unique_oid, organization_oid, 1))
