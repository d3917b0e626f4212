"""The demo's way into the web admin (`mailroom init --demo`): a demo CA, its (empty)
CRL, and a client certificate for the demo administrator as PKCS#12, which a browser
imports (password `demo`), plus the same certificate and key as PEM for curl.

A demo only: the CA's key lies beside the config, unencrypted, so anyone who can read
the installation can make certificates. A real host uses its community's CA
(`[client_certificates] ca_file`) and never keeps the CA's key on the mail host.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEMO_ADMIN = "alice@example.test"
"""The demo's administrator (the Makefile's demo creates the account)."""
DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's published password, as the README says
"""The PKCS#12 file's password, as the demo accounts' passwords."""
VALIDITY = datetime.timedelta(days=825)


@dataclass(frozen=True)
class DemoCertificates:
    ca_file: Path
    crl_file: Path
    pkcs12_file: Path
    certificate_file: Path
    key_file: Path


def write_demo_certificates(directory: Path, admin: str = DEMO_ADMIN) -> DemoCertificates:
    """Write the demo CA, its CRL and `admin`'s client certificate into `directory`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailroom Demo CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_name)
        .last_update(now - datetime.timedelta(minutes=5))
        .next_update(now + VALIDITY)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, admin)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(admin)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    local = admin.split("@", 1)[0]
    files = DemoCertificates(
        ca_file=directory / "demo-ca.pem",
        crl_file=directory / "demo-ca.crl",
        pkcs12_file=directory / f"{local}.p12",
        certificate_file=directory / f"{local}-cert.pem",
        key_file=directory / f"{local}-key.pem",
    )
    pem = serialization.Encoding.PEM
    _private(directory / "demo-ca-key.pem", _pem_key(ca_key))
    files.ca_file.write_bytes(ca.public_bytes(pem))
    files.crl_file.write_bytes(crl.public_bytes(pem))
    files.certificate_file.write_bytes(certificate.public_bytes(pem))
    _private(files.key_file, _pem_key(key))
    _private(
        files.pkcs12_file,
        pkcs12.serialize_key_and_certificates(
            admin.encode(),
            key,
            certificate,
            [ca],
            serialization.BestAvailableEncryption(DEMO_PASSWORD.encode()),
        ),
    )
    return files


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
