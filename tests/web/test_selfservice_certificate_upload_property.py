"""A certificate upload is whatever a member pastes: reading it either gives the one
certificate's fingerprint, subject and expiry, or refuses with a reason; never another
error."""

from __future__ import annotations

import base64
import datetime

from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.selfservice_certificates import CertificateRefused, Uploaded, read_certificate

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)


def pem_of(body: bytes) -> bytes:
    encoded = base64.encodebytes(body)
    return b"-----BEGIN CERTIFICATE-----\n" + encoded + b"-----END CERTIFICATE-----\n"


der_like = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=200).map(lambda rest: b"\x30\x82\x01\x0a" + rest),  # a SEQUENCE start
)
uploads = st.one_of(
    st.binary(max_size=3000),
    der_like.map(pem_of),
    st.tuples(der_like, der_like).map(lambda pair: pem_of(pair[0]) + pem_of(pair[1])),
    st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@given(uploads)
def test_any_upload_is_read_or_refused_with_a_reason(upload: bytes) -> None:
    try:
        read = read_certificate(upload, NOW)
    except CertificateRefused as refusal:
        assert str(refusal)
    else:
        assert isinstance(read, Uploaded)
        assert len(read.fingerprint) == 64


def test_an_upload_larger_than_a_certificate_is_refused_unread() -> None:
    try:
        read_certificate(b"-----BEGIN CERTIFICATE-----" + b"A" * 30_000, NOW)
    except CertificateRefused as refusal:
        assert "larger than" in str(refusal)
    else:
        raise AssertionError("read")
