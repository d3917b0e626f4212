"""DKIM keys and signatures, checked the way a receiving host checks them: dkimpy's
verifier, fed our own TXT record instead of DNS (tests never do real DNS)."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.util import parse_tag_value

from mailroom.config import DkimAlgorithm
from mailroom.mailauth import (
    DkimError,
    DkimKey,
    DkimKeyExists,
    DkimKeys,
    DkimSigner,
    dns_txt_record,
    generate_key,
    txt_character_strings,
    zone_file_line,
)

MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: bob@elsewhere.test\r\n"
    b"Subject: minutes of the meeting\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    b"Message-ID: <minutes-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Mailer: something a list may strip\r\n"
    b"\r\n"
    b"We met, we talked,\r\n"
    b"we agreed.\r\n"
)

ALGORITHMS = [DkimAlgorithm.RSA, DkimAlgorithm.ED25519]


def parse_tag_list(text: str) -> dict[str, str]:
    """Tags of a record or signature, read by dkimpy's own parser (RFC 6376 §3.2)."""
    return {name.decode(): value.decode() for name, value in parse_tag_value(text.encode()).items()}


def dns_answering(key: DkimKey) -> Callable[..., bytes | None]:
    """A resolver that knows one name: our selector's record, as DNS would join it."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if name.decode().lower() == f"{key.selector}._domainkey.{key.domain}.":
            return "".join(txt_character_strings(key.dns_txt_record)).encode()
        return None

    return lookup


@pytest.fixture
def keys(tmp_path: Path) -> DkimKeys:
    return DkimKeys(tmp_path / "dkim", "mail")


def verifies(signed: bytes, key: DkimKey) -> bool:
    return bool(dkim.verify(signed, dnsfunc=dns_answering(key)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_new_key_is_stored_readable_by_us_alone(keys: DkimKeys, algorithm: DkimAlgorithm) -> None:
    key = keys.create("example.test", algorithm)
    path = keys.directory / "example.test.mail.key"
    assert path.read_bytes() == key.private_key_pem
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.directory.stat().st_mode) == 0o700
    assert keys.load("example.test") == key
    assert list(keys.directory.iterdir()) == [path]  # no temporary file left behind


def test_rsa_keys_are_2048_bit_pem() -> None:
    key = serialization.load_pem_private_key(generate_key(DkimAlgorithm.RSA), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048


def test_the_rsa_record_carries_the_subject_public_key_info() -> None:
    pem = generate_key(DkimAlgorithm.RSA)
    tags = parse_tag_list(dns_txt_record(pem, DkimAlgorithm.RSA))
    assert tags["v"] == "DKIM1"
    assert tags["k"] == "rsa"
    public = serialization.load_der_public_key(base64.b64decode(tags["p"]))
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(public, rsa.RSAPublicKey) and isinstance(private, rsa.RSAPrivateKey)
    assert public.public_numbers() == private.public_key().public_numbers()


def test_the_ed25519_record_carries_the_raw_32_byte_public_key() -> None:
    # RFC 8463 §4.2: no ASN.1 wrapping.
    pem = generate_key(DkimAlgorithm.ED25519)
    tags = parse_tag_list(dns_txt_record(pem, DkimAlgorithm.ED25519))
    assert (tags["v"], tags["k"]) == ("DKIM1", "ed25519")
    raw = base64.b64decode(tags["p"])
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert raw == private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def test_a_record_for_the_wrong_key_type_is_refused() -> None:
    with pytest.raises(DkimError, match="not an ed25519 key"):
        dns_txt_record(generate_key(DkimAlgorithm.RSA), DkimAlgorithm.ED25519)


def test_an_existing_key_is_not_replaced_unless_asked(keys: DkimKeys) -> None:
    first = keys.create("example.test", DkimAlgorithm.ED25519)
    with pytest.raises(DkimKeyExists, match="exists already"):
        keys.create("example.test", DkimAlgorithm.ED25519)
    assert keys.load("example.test") == first
    second = keys.create("example.test", DkimAlgorithm.RSA, replace=True)
    assert keys.load("example.test") == second
    assert second.algorithm is DkimAlgorithm.RSA


def test_a_domain_without_a_key_loads_as_none_and_is_not_signed(keys: DkimKeys) -> None:
    assert keys.load("example.test") is None
    assert DkimSigner(keys).sign(MESSAGE, "example.test") is None


def test_a_file_that_is_not_a_key_is_reported_with_its_path(keys: DkimKeys) -> None:
    keys.directory.mkdir()
    keys.path("example.test").write_text("not a key\n")
    with pytest.raises(DkimError, match=r"example\.test\.mail\.key: not an unencrypted PEM"):
        keys.load("example.test")


def test_a_selector_must_be_a_dns_name(tmp_path: Path) -> None:
    assert DkimKeys(tmp_path, "Mail2026").selector == "mail2026"
    with pytest.raises(DkimError, match="not a DKIM selector"):
        DkimKeys(tmp_path, "../etc")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_signed_message_verifies_against_the_published_record(
    keys: DkimKeys, algorithm: DkimAlgorithm
) -> None:
    key = keys.create("example.test", algorithm)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None
    assert header.startswith(b"DKIM-Signature: ") and header.endswith(b"\r\n")
    assert verifies(header + MESSAGE, key)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tampered_body_fails_verification(keys: DkimKeys, algorithm: DkimAlgorithm) -> None:
    key = keys.create("example.test", algorithm)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None
    assert not verifies(header + MESSAGE.replace(b"we agreed", b"we disagreed"), key)


def test_the_signature_uses_relaxed_canonicalisation_and_the_expected_headers(
    keys: DkimKeys,
) -> None:
    keys.create("example.test", DkimAlgorithm.ED25519)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None
    tags = parse_tag_list(header.decode().split(":", 1)[1])
    assert tags["a"] == "ed25519-sha256"
    assert tags["c"] == "relaxed/relaxed"
    assert (tags["d"], tags["s"]) == ("example.test", "mail")
    signed = [name.strip() for name in tags["h"].split(":")]
    # From once more than it occurs (RFC 6376 §8.15); X-Mailer is not signed.
    assert signed == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "from",
    ]


def test_rewrapped_headers_still_verify(keys: DkimKeys) -> None:
    # relaxed header canonicalisation (RFC 6376 §3.4.2) forgives a relay's re-folding.
    key = keys.create("example.test", DkimAlgorithm.RSA)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None
    refolded = MESSAGE.replace(b"Subject: minutes of", b"Subject:  minutes\r\n\tof")
    assert verifies(header + refolded, key)


def test_a_second_from_added_after_signing_fails_verification(keys: DkimKeys) -> None:
    key = keys.create("example.test", DkimAlgorithm.ED25519)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None
    assert not verifies(header + b"From: mallory@evil.test\r\n" + MESSAGE, key)


def test_a_message_without_from_cannot_be_signed(keys: DkimKeys) -> None:
    keys.create("example.test", DkimAlgorithm.ED25519)
    with pytest.raises(DkimError, match="no From"):
        DkimSigner(keys).sign(MESSAGE.replace(b"From: ", b"Sender: "), "example.test")


def test_a_replaced_key_is_used_without_a_new_signer(keys: DkimKeys) -> None:
    signer = DkimSigner(keys)
    keys.create("example.test", DkimAlgorithm.ED25519)
    assert signer.sign(MESSAGE, "example.test") is not None
    key = keys.create("example.test", DkimAlgorithm.RSA, replace=True)
    header = signer.sign(MESSAGE, "example.test")
    assert header is not None
    assert verifies(header + MESSAGE, key)


async def test_signing_in_a_thread_gives_a_verifiable_signature(keys: DkimKeys) -> None:
    key = keys.create("example.test", DkimAlgorithm.RSA)
    header = await DkimSigner(keys).sign_async(MESSAGE, "example.test")
    assert header is not None
    assert verifies(header + MESSAGE, key)


def test_a_long_record_is_cut_into_255_octet_strings() -> None:
    record = dns_txt_record(generate_key(DkimAlgorithm.RSA), DkimAlgorithm.RSA)
    pieces = txt_character_strings(record)
    assert len(pieces) == 2
    assert all(len(piece) <= 255 for piece in pieces)
    assert "".join(pieces) == record
    line = zone_file_line("mail", "example.test", record)
    assert line == f'mail._domainkey.example.test. IN TXT "{pieces[0]}" "{pieces[1]}"'


def test_a_domain_that_could_leave_the_key_directory_is_refused(keys: DkimKeys) -> None:
    with pytest.raises(DkimError, match="not a domain name"):
        keys.create("../../etc/example.test", DkimAlgorithm.ED25519)
