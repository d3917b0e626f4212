"""A certificate authority for tests: a CA certificate and server certificates it signs
(for names and 127.0.0.1), so clients can verify a peer as they would on the internet,
against `ca_file` instead of the system's CAs; and, as the legacy host's community CA
does, client certificates for members' e-mail addresses and the CRLs that revoke them.
ECDSA P-256: quick to make."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class ClientCertificate:
    """A member's certificate and key, as files a client loads."""

    certificate: x509.Certificate
    certificate_file: Path
    key_file: Path

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    def context(self) -> ssl.SSLContext:
        """A client context presenting this certificate; the server's own is not
        verified (the test host's is self-signed), so no CA store is loaded."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(self.certificate_file, self.key_file)
        return context


@dataclass
class CertificateAuthority:
    directory: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @classmethod
    def create(cls, directory: Path, name: str = "Mailroom Test CA") -> CertificateAuthority:
        """A root CA (self-signed), valid a day either side of now."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return cls._made(directory, key, subject, key, subject)

    def intermediate(
        self, directory: Path, name: str, *, not_after: datetime.datetime | None = None
    ) -> CertificateAuthority:
        """A CA this one signs (CAcert's Class 3 under its Class 1 root); its `ca_file`
        holds its own certificate only."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return self._made(
            directory, key, subject, self.key, self.certificate.subject, not_after=not_after
        )

    @classmethod
    def _made(
        cls,
        directory: Path,
        key: ec.EllipticCurvePrivateKey,
        subject: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        *,
        not_after: datetime.datetime | None = None,
    ) -> CertificateAuthority:
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(not_after or now + DAY)
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=None if signer is key else 0),
                critical=True,
            )
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
            .sign(signer, hashes.SHA256())
        )
        ca = cls(directory, key, certificate)
        ca.ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return ca

    def server_context(
        self, *names: str, not_after: datetime.datetime | None = None
    ) -> ssl.SSLContext:
        """A server-side context with a certificate for `names` (DNS names or IP
        addresses) signed by this CA, valid a day either side of now unless told
        (`not_after`); its files are `<first name>.crt` and `.key` in the CA's directory."""
        key = ec.generate_private_key(ec.SECP256R1())
        alternative: list[x509.GeneralName] = []
        for name in names:
            try:
                alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternative.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now, not_after or now) - DAY)
            .not_valid_after(not_after or now + DAY)
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = self.directory / names[0].replace(":", "_")
        certificate_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate_file, key_file)
        return context

    def client_certificate(
        self,
        name: str,
        *,
        emails: Sequence[str] = (),
        subject_email: str | None = None,
        extra_subject: Sequence[x509.NameAttribute[str]] = (),
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        crl_url: str | None = None,
    ) -> ClientCertificate:
        """A client certificate (CN=`name`) with `emails` as subjectAltName rfc822Names,
        `subject_email` as the subject's emailAddress, valid a day either side of now
        unless told, with `crl_url` as its CRL distribution point."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name), *extra_subject]
        if subject_email is not None:
            attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - DAY)
            .not_valid_after(not_after or now + DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        if emails:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(e) for e in emails]), critical=False
            )
        if crl_url is not None:
            point = x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
            builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        stem = self.directory / f"client-{certificate.serial_number:x}"
        certificate_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        return ClientCertificate(certificate, certificate_file, key_file)

    def crl(
        self,
        revoked: Sequence[int] = (),
        *,
        this_update: datetime.datetime | None = None,
        next_update: datetime.datetime | None = None,
        reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    ) -> x509.CertificateRevocationList:
        """A CRL of this CA revoking the serials `revoked`, current for a day unless told."""
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(this_update or now - datetime.timedelta(minutes=1))
            .next_update(next_update or now + DAY)
        )
        for serial in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - datetime.timedelta(minutes=1))
            )
            if reason is not None:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self.key, hashes.SHA256())

    def write_crl(self, path: Path, revoked: Sequence[int] = (), **options: object) -> Path:
        """Write a CRL (PEM) by replacing `path` atomically, as an administrator's
        script would; return `path`."""
        crl = self.crl(revoked, **options)  # type: ignore[arg-type]
        scratch = path.with_name(path.name + ".new")
        scratch.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        scratch.replace(path)
        return path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
