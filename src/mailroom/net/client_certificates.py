"""Client certificates on the listeners that ask for them (`[client_certificates]`): the
TLS side of SASL EXTERNAL.

Who checks what, and why:
- OpenSSL (Python's `ssl`) asks for the certificate (CERT_OPTIONAL, so a client without
  one logs in with its password as before) and verifies its chain to a CA of `ca_file`.
  A certificate of an unknown CA fails the handshake there, with TLS's own alert
  (unknown_ca): Python's `ssl` has no verify callback, so the handshake cannot go on
  with an unverified certificate, and it never shows us one.
- Its validity period and its revocation are checked here, with `cryptography`, when
  the client asks for EXTERNAL. OpenSSL's time check is turned off
  (X509_V_FLAG_NO_CHECK_TIME) and it is given no CRL. Not `ssl`'s CRL flags because:
  a CRL loaded into a live context can never be replaced (`load_verify_locations` only
  adds, and implicit-TLS listeners keep their context), so a replaced CRL file could not
  take effect; a CRL past its nextUpdate would make OpenSSL fail every handshake of
  that CA, password logins included; the fetch from a distribution point needs the
  certificate, which a failed handshake never yields; and a failed handshake gives the
  client a TLS alert instead of its protocol's answer and us nothing to log but an
  error code. Checked here, a revoked or expired certificate gets the protocol's
  authentication failure and one log line naming its serial, subject and the reason
  (`auth.certificate_login`).
"""

from __future__ import annotations

import datetime
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from mailroom.auth import Authenticator, Credentials, ExternalCredentials
from mailroom.auth.authenticator import AuthOutcome, AuthResult
from mailroom.auth.certificate_login import CertificateLogin, PresentedCertificate
from mailroom.auth.throttle import IPAddress
from mailroom.config import Config, TlsMode
from mailroom.config import Protocol as ListenerProtocol
from mailroom.config.client_certificates import ClientCertificatesConfig
from mailroom.net.connection import Connection
from mailroom.net.crl_store import CrlStore, FetchSettings, fingerprint, is_current

log = logging.getLogger("mailroom.net")

X509_V_FLAG_NO_CHECK_TIME = 0x200000
"""OpenSSL's flag (x509_vfy.h) that skips the validity-period check: ours is here.
`ssl.SSLContext.verify_flags` passes any of OpenSSL's flags through."""
MAX_CA_FILE_BYTES = 16 * 1024 * 1024
LOGIN_PROTOCOLS = frozenset(
    {
        ListenerProtocol.SUBMISSION,
        ListenerProtocol.IMAP,
        ListenerProtocol.POP3,
        ListenerProtocol.MANAGESIEVE,
        ListenerProtocol.WEB,
    }
)
"""The protocols whose members log in (SMTP on port 25 takes no login); on `web`
listeners the certificate logs in to the web admin and self-service pages."""
CRL_CACHE_DIRECTORY = "crl-cache"
"""Under the data directory: the CRLs fetched from distribution points."""


class ClientCertificateError(Exception):
    """The client-certificate settings cannot be used; the message says what to fix."""


def offers_external(connection: Connection) -> bool:
    """SASL EXTERNAL is offered when the client presented a certificate whose chain
    OpenSSL verified (only listeners with client certificates ask for one)."""
    return connection.tls is not None and connection.tls.peer_certificate is not None


class ClientCertificates:
    """The CA bundle and the CRLs of `[client_certificates]`; configures the listeners'
    TLS contexts and checks a presented certificate."""

    def __init__(
        self,
        settings: ClientCertificatesConfig,
        resolve: Callable[[Path], Path],
        clock: Callable[[], float] = time.time,
        *,
        cache_directory: Path | None = None,
    ) -> None:
        """`cache_directory`: where fetched CRLs are kept across restarts."""
        assert settings.ca_file is not None  # the config refuses listeners without it
        self.settings = settings
        self.ca_file = resolve(settings.ca_file)
        self.authorities = _read_bundle(self.ca_file)
        fetch = (
            FetchSettings(
                settings.fetch_timeout_seconds,
                settings.fetch_max_size,
                settings.fetch_retry_seconds,
                cache_directory,
            )
            if settings.fetch_crls
            else None
        )
        self.crls = CrlStore(
            [resolve(path) for path in settings.crl_files],
            self.authorities,
            fetch=fetch,
            clock=clock,
        )

    @classmethod
    def from_config(cls, config: Config) -> ClientCertificates | None:
        """None when no listener asks for certificates; ClientCertificateError when one
        named is missing or has no TLS."""
        settings = config.client_certificates
        if not settings.listeners:
            return None
        listeners = {listener.name: listener for listener in config.listeners}
        for name in settings.listeners:
            listener = listeners.get(name)
            if listener is None:
                raise ClientCertificateError(
                    f"client_certificates.listeners names {name!r}, which is no listener"
                )
            if listener.tls is TlsMode.NONE:
                raise ClientCertificateError(
                    f"client_certificates.listeners names {name!r}, whose tls is none: "
                    "a certificate needs TLS"
                )
            if listener.protocol not in LOGIN_PROTOCOLS:
                raise ClientCertificateError(
                    f"client_certificates.listeners names {name!r}, a {listener.protocol} "
                    "listener: members log in on submission, imap, pop3, managesieve and web ones"
                )
        cache = config.resolve(config.data_dir) / CRL_CACHE_DIRECTORY
        return cls(settings, config.resolve, cache_directory=cache)

    def asks(self, listener_name: str) -> bool:
        return listener_name in self.settings.listeners

    def configure(self, context: ssl.SSLContext) -> None:
        """Ask for a client certificate and verify its chain; not its dates (see the
        module's docstring)."""
        context.verify_mode = ssl.CERT_OPTIONAL
        try:
            context.load_verify_locations(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ClientCertificateError(f"cannot load ca_file {self.ca_file}: {error}") from None
        context.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
        if not context.verify_flags & X509_V_FLAG_NO_CHECK_TIME:
            raise ClientCertificateError("this OpenSSL does not let us check certificate dates")

    async def check(self, der: bytes) -> PresentedCertificate | None:
        """The presented certificate with its problem, if any (None: not parseable)."""
        certificate = load_certificate(der)
        if certificate is None:
            return None
        now = self.crls.now()
        if now < certificate.not_valid_before_utc:
            return PresentedCertificate(
                certificate,
                "certificate_not_yet_valid",
                f"valid from {certificate.not_valid_before_utc.isoformat()}",
            )
        if now > certificate.not_valid_after_utc:
            return PresentedCertificate(
                certificate,
                "certificate_expired",
                f"expired {certificate.not_valid_after_utc.isoformat()}",
            )
        issuer = self._issuer_of(certificate)
        if issuer is None:
            return PresentedCertificate(
                certificate,
                "unknown_issuer",
                f"its issuer {certificate.issuer.rfc4514_string()} is not in {self.ca_file}",
            )
        expired = self._expired_authority(issuer, now)
        if expired is not None:
            return PresentedCertificate(
                certificate,
                "issuer_expired",
                f"the CA {expired.subject.rfc4514_string()} expired "
                f"{expired.not_valid_after_utc.isoformat()}",
            )
        return await self._revocation(certificate, issuer)

    async def _revocation(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> PresentedCertificate:
        issuer_name = issuer.subject.rfc4514_string()
        crl = await self.crls.crl_for(issuer, distribution_points(certificate))
        if crl is None:
            if not self.settings.require_crl:
                return PresentedCertificate(certificate)
            return PresentedCertificate(
                certificate,
                "crl_unavailable",
                f"no CRL of {issuer_name} is known (crl_files"
                + (", its distribution point" if self.settings.fetch_crls else "")
                + "), so revocation cannot be checked",
            )
        revoked = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if revoked is not None and _reason(revoked) != "removeFromCRL":
            reason = _reason(revoked)
            return PresentedCertificate(
                certificate,
                "certificate_revoked",
                f"revoked {revoked.revocation_date_utc.isoformat()}"
                + (f" ({reason})" if reason else "")
                + f" in the CRL of {issuer_name} of {crl.last_update_utc.isoformat()}",
            )
        if self.settings.require_crl and not is_current(crl, self.crls.now()):
            due = crl.next_update_utc.isoformat() if crl.next_update_utc else "?"
            return PresentedCertificate(
                certificate,
                "crl_expired",
                f"the newest CRL of {issuer_name} was due to be renewed {due}",
            )
        return PresentedCertificate(certificate)

    def _issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        for authority in self.authorities:
            if authority.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(authority)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return authority
        return None

    def _expired_authority(
        self, authority: x509.Certificate, now: datetime.datetime
    ) -> x509.Certificate | None:
        """The first CA on the way from `authority` to its root that is out of its dates."""
        seen: set[bytes] = set()
        current: x509.Certificate | None = authority
        while current is not None and fingerprint(current) not in seen:
            seen.add(fingerprint(current))
            if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
                return current
            if current.issuer == current.subject:
                return None
            current = self._issuer_of(current)
        return None


def load_certificate(der: bytes) -> x509.Certificate | None:
    """The DER certificate the client presented; None when cryptography cannot read it
    (ValueError, or its InvalidVersion, which is none: OpenSSL verified it regardless)."""
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
        return None


def distribution_points(certificate: x509.Certificate) -> list[str]:
    """The certificate's CRL distribution point URIs (RFC 5280 §4.2.1.13), in order."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except (x509.ExtensionNotFound, ValueError):  # ValueError: an extension it cannot read
        return []
    urls = []
    for point in extension.value:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                urls.append(name.value)
    return urls[:8]


def _reason(revoked: x509.RevokedCertificate) -> str:
    try:
        extension = revoked.extensions.get_extension_for_class(x509.CRLReason)
    except x509.ExtensionNotFound:
        return ""
    return extension.value.reason.value


def _read_bundle(path: Path) -> list[x509.Certificate]:
    try:
        if path.stat().st_size > MAX_CA_FILE_BYTES:
            raise ClientCertificateError(f"ca_file {path} is larger than {MAX_CA_FILE_BYTES} bytes")
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as error:
        raise ClientCertificateError(f"cannot read ca_file {path}: {error.strerror}") from None
    except ValueError as error:
        raise ClientCertificateError(f"ca_file {path} is not a PEM bundle: {error}") from None
    return certificates


class ExternalLogin:
    """SASL EXTERNAL for every protocol: the presented certificate checked here, then
    mapped to an account and decided by `auth.certificate_login`."""

    def __init__(self, certificates: ClientCertificates | None, login: CertificateLogin) -> None:
        self.certificates = certificates
        self.login = login

    async def log_in(
        self, connection: Connection, credentials: ExternalCredentials, *, protocol: str
    ) -> AuthResult:
        der = connection.tls.peer_certificate if connection.tls is not None else None
        return await self.log_in_certificate(
            der, credentials.authzid, protocol=protocol, client_ip=connection.peer_ip
        )

    async def log_in_certificate(
        self, der: bytes | None, authzid: str, *, protocol: str, client_ip: IPAddress
    ) -> AuthResult:
        """The login of a certificate the TLS layer verified (DER; None: none presented),
        for a server that is not a `Connection` (the web's, which gets it from the ASGI TLS
        extension)."""
        presented = None
        if der is not None and self.certificates is not None:
            presented = await self.certificates.check(der)
        return await self.login.log_in(presented, authzid, protocol=protocol, client_ip=client_ip)


class LoginServices(Protocol):
    """What a protocol's services hold for logins (SmtpServices, ImapServices, ...)."""

    @property
    def authenticator(self) -> Authenticator: ...

    @property
    def external(self) -> ExternalLogin | None:
        """SASL EXTERNAL; None refuses it."""


async def session_log_in(
    services: LoginServices,
    connection: Connection,
    credentials: Credentials | ExternalCredentials,
    *,
    protocol: str,
    secure: bool,
) -> AuthResult:
    """The login of a finished SASL exchange (or LOGIN, USER/PASS), as every protocol
    session asks it: a password by the Authenticator, EXTERNAL by the TLS client
    certificate (`services.external`)."""
    if isinstance(credentials, Credentials):
        return await services.authenticator.log_in(
            credentials, protocol=protocol, client_ip=connection.peer_ip, secure=secure
        )
    external = services.external
    if external is None:  # a host built without certificate logins
        log.info("%s: %s: EXTERNAL refused: client certificates are off", connection.peer, protocol)
        return AuthResult(
            AuthOutcome.INVALID_REQUEST, None, None, 0.0, "client certificates are off"
        )
    return await external.log_in(connection, credentials, protocol=protocol)
