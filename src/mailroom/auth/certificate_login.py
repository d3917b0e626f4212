"""Login with a TLS client certificate (SASL EXTERNAL, RFC 4422 Appendix A): which
account a certificate names, whether the client may act as the authorization identity
it asked for, the throttle, and one log line per decision naming the certificate (serial,
subject) and the reason.

The certificate itself — its chain, validity period and revocation — is checked by
`net.client_certificates` before it comes here; one that failed comes with its problem,
so that refusing it is logged and counted like any other failed login. This module only
maps and decides; it never touches a socket or a CRL.

Mapping (`[client_certificates] account_from`): the first source with a value names
the candidates — the subjectAltName's rfc822Name entries (RFC 5280 §4.2.1.6), the
subject's emailAddress, or any subject attribute; a value without `@` gets `[auth]
default_domain`, as a typed login does. A certificate may carry several addresses (a
CA's member with verified addresses at several domains): each one that is an address of
an account counts. With an empty authorization identity they must all be one account;
with one, it must be an address of one of them (RFC 4422 §3.4.1: the server decides
whether the authentication identity may act as the authorization identity).

Pinning: an account whose member registered certificates of their own (self-service,
`directory.certificates`) accepts only those (by SHA-256 of the DER certificate), so a
certificate the CA issued for the same address to someone else, or an old one the member
no longer trusts, does not log in. An account without any keeps the CA's word alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID, ObjectIdentifier

from mailroom.auth.authenticator import AuthOutcome, AuthResult
from mailroom.auth.log_lines import log_fields
from mailroom.auth.throttle import (
    IPAddress,
    NoThrottle,
    Settlement,
    Throttle,
    canonical_client,
)
from mailroom.config.client_certificates import AccountSource
from mailroom.directory import Account, DirectoryError, InvalidAddress
from mailroom.directory.addresses import normalize_address, normalize_domain

log = logging.getLogger("mailroom.auth")

MAX_CANDIDATES = 16
"""Addresses of one certificate looked up at most (each costs a directory lookup)."""

_SHORT_NAMES = {
    "CN": NameOID.COMMON_NAME,
    "UID": NameOID.USER_ID,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "GN": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "pseudonym": NameOID.PSEUDONYM,
}


@dataclass(frozen=True)
class PresentedCertificate:
    """A client's certificate as `net.client_certificates` found it."""

    certificate: x509.Certificate
    problem: str | None = None
    """None when the chain, the validity period and revocation were all checked and
    found good; else the log's reason= (certificate_revoked, certificate_expired, ...)."""
    detail: str = ""
    """What exactly is wrong, for the log line (the CRL, the dates, ...)."""


class AccountLookup(Protocol):
    """What the login asks the directory (the `Authenticator` answers it)."""

    async def account(self, address: str) -> Account | None: ...

    async def registered_certificates(self, address: str) -> frozenset[str]:
        """SHA-256 fingerprints of the certificates the account registered."""
        ...


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 of the DER certificate in lower-case hex, as members' registered
    certificates are pinned (`directory.certificates`)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def certificate_names(
    certificate: x509.Certificate, sources: Sequence[AccountSource]
) -> tuple[AccountSource | None, list[str]]:
    """The values of the first source in `sources` that has any (as written in the
    certificate, at most MAX_CANDIDATES), and that source."""
    for source in sources:
        values = _values(certificate, source)
        if values:
            return source, values[:MAX_CANDIDATES]
    return None, []


def _values(certificate: x509.Certificate, source: AccountSource) -> list[str]:
    if source.attribute is None:
        try:
            extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except (x509.ExtensionNotFound, ValueError):  # ValueError: an extension it cannot read
            return []
        return [str(value) for value in extension.value.get_values_for_type(x509.RFC822Name)]
    oid = _SHORT_NAMES.get(source.attribute) or ObjectIdentifier(source.attribute)
    subject = _subject(certificate)
    return [
        attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        for attribute in (subject.get_attributes_for_oid(oid) if subject is not None else ())
    ]


def _subject(certificate: x509.Certificate) -> x509.Name | None:
    """The subject, or None when cryptography cannot build it: it reads it lazily and
    refuses some attributes OpenSSL verified without a complaint (a BIT STRING value
    under another OID than x500UniqueIdentifier raises TypeError)."""
    try:
        return certificate.subject
    except (ValueError, TypeError):
        return None


def subject_text(certificate: x509.Certificate) -> str:
    """The subject as RFC 4514 text, or a placeholder when it cannot be read."""
    subject = _subject(certificate)
    return "(unreadable subject)" if subject is None else subject.rfc4514_string()


def describe(certificate: x509.Certificate) -> tuple[str, str]:
    """(serial in hex, subject as RFC 4514 text) for logs."""
    return f"{certificate.serial_number:x}", subject_text(certificate)


@dataclass
class _Decision:
    outcome: AuthOutcome
    code: str
    detail: str
    account: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    level: int = logging.INFO


class CertificateLogin:
    """Decides EXTERNAL logins for every protocol. `accounts` is the Authenticator (its
    cached account records), `throttle` the same one password logins count against."""

    def __init__(
        self,
        accounts: AccountLookup,
        sources: Sequence[AccountSource],
        *,
        throttle: Throttle | None = None,
        default_domain: str | None = None,
    ) -> None:
        self._accounts = accounts
        self._sources = tuple(sources)
        self._throttle: Throttle = throttle if throttle is not None else NoThrottle()
        self._default_domain = normalize_domain(default_domain) if default_domain else None

    async def log_in(
        self,
        presented: PresentedCertificate | None,
        authzid: str,
        *,
        protocol: str,
        client_ip: IPAddress,
    ) -> AuthResult:
        """Decide, log, and on failure wait the throttle's delay (as password logins do)
        before returning. Raises only DirectoryError from the directory."""
        client = canonical_client(client_ip)
        decision, delay = await self._decide(presented, authzid, client)
        self._log(presented, authzid, protocol, client, decision, delay)
        if decision.outcome is not AuthOutcome.SUCCESS and delay:
            await asyncio.sleep(delay)
        return AuthResult(
            outcome=decision.outcome,
            account=decision.account,
            master=None,
            delay_seconds=delay,
            reason=decision.detail,
        )

    async def _decide(
        self, presented: PresentedCertificate | None, authzid: str, client: IPAddress
    ) -> tuple[_Decision, float]:
        source: AccountSource | None = None
        names: list[str] = []
        candidates: list[str] = []
        key = ""
        if presented is not None:
            source, names = certificate_names(presented.certificate, self._sources)
            candidates = [a for a in map(self._address, names) if a is not None]
            # Failures count against the account the certificate names, as a password's do.
            key = candidates[0] if candidates else subject_text(presented.certificate)
        # Reserved before the directory is asked, as passwords are (auth.throttle).
        verdict = await self._throttle.reserve(client, key)
        if not verdict.allowed:
            decision = _Decision(
                AuthOutcome.THROTTLED,
                verdict.reason,
                f"refused for another {verdict.retry_after:.0f} s after repeated failed logins",
                fields={"retry_after": f"{verdict.retry_after:.0f}"},
            )
            return decision, 0.0
        try:
            if presented is None:
                decision = _Decision(
                    AuthOutcome.INVALID_REQUEST,
                    "no_certificate",
                    "EXTERNAL without a client certificate",
                )
            else:
                decision = await self._check(presented, authzid, source, names, candidates)
        except DirectoryError:
            await self._throttle.settle(client, key, verdict.token, Settlement.VOID)
            raise
        except BaseException:
            await asyncio.shield(
                self._throttle.settle(client, key, verdict.token, Settlement.FAILURE)
            )
            raise
        success = decision.outcome is AuthOutcome.SUCCESS
        outcome = Settlement.SUCCESS if success else Settlement.FAILURE
        return decision, await self._throttle.settle(client, key, verdict.token, outcome)

    async def _check(
        self,
        presented: PresentedCertificate,
        authzid: str,
        source: AccountSource | None,
        names: list[str],
        candidates: list[str],
    ) -> _Decision:
        if presented.problem is not None:
            return _Decision(
                AuthOutcome.INVALID_REQUEST,
                presented.problem,
                presented.detail,
                level=logging.WARNING,
            )
        sources = ", ".join(str(s) for s in self._sources)
        if source is None:
            return _Decision(
                AuthOutcome.UNKNOWN_USER,
                "no_identity",
                f"the certificate has none of {sources}",
            )
        if not candidates:
            return _Decision(
                AuthOutcome.UNKNOWN_USER,
                "no_identity",
                f"{source} of the certificate is no address: {', '.join(names)}",
            )
        accounts: dict[str, Account] = {}
        for address in candidates:
            account = await self._accounts.account(address)
            if account is not None:
                accounts.setdefault(account.address, account)
        if not accounts:
            return _Decision(
                AuthOutcome.UNKNOWN_USER,
                "unknown_user",
                f"no account has the certificate's {source} {', '.join(candidates)}",
            )
        chosen = await self._chosen(authzid, accounts)
        if isinstance(chosen, _Decision):
            return chosen
        pinned = await self._accounts.registered_certificates(chosen.address)
        if pinned and fingerprint(presented.certificate) not in pinned:
            return _Decision(
                AuthOutcome.INVALID_REQUEST,
                "certificate_not_registered",
                f"{chosen.address} has registered its own certificates and this is not one of them",
                level=logging.WARNING,
            )
        if not chosen.enabled:
            return _Decision(
                AuthOutcome.DISABLED,
                "disabled",
                f"account {chosen.address} is disabled "
                "(`mailroom user enable` to allow logins again)",
            )
        return _Decision(
            AuthOutcome.SUCCESS, "success", f"logged in as {chosen.address}", chosen.address
        )

    async def _chosen(self, authzid: str, accounts: dict[str, Account]) -> Account | _Decision:
        """The account to log in to: the authzid's, if it is one the certificate names;
        with no authzid, the only one the certificate names."""
        named = ", ".join(sorted(accounts))
        if not authzid:
            if len(accounts) == 1:
                return next(iter(accounts.values()))
            return _Decision(
                AuthOutcome.INVALID_REQUEST,
                "ambiguous_certificate",
                f"the certificate names several accounts ({named}): "
                "the client must give the authorization identity",
            )
        wanted = self._address(authzid)
        account = await self._accounts.account(wanted) if wanted is not None else None
        if account is None or account.address not in accounts:
            return _Decision(
                AuthOutcome.INVALID_REQUEST,
                "authzid_mismatch",
                f"the certificate names {named}, not the authorization identity",
            )
        return accounts[account.address]

    def _address(self, text: str) -> str | None:
        text = text.strip()
        if "@" not in text and self._default_domain is not None and text:
            text = f"{text}@{self._default_domain}"
        try:
            return normalize_address(text)
        except InvalidAddress:
            return None

    def _log(
        self,
        presented: PresentedCertificate | None,
        authzid: str,
        protocol: str,
        client: IPAddress,
        decision: _Decision,
        delay: float,
    ) -> None:
        fields = {"protocol": protocol, "client": str(client), "mechanism": "EXTERNAL"}
        if presented is not None:
            serial, subject = describe(presented.certificate)
            fields["serial"] = serial
            fields["subject"] = subject
        if authzid:
            fields["authzid"] = authzid
        if decision.outcome is AuthOutcome.SUCCESS:
            fields["result"] = "ok"
            fields["account"] = decision.account or ""
        else:
            fields["result"] = "fail"
            fields["reason"] = decision.code
            fields["detail"] = decision.detail
            fields["delay"] = str(round(delay, 3))
        fields.update(decision.fields)
        line = log_fields(fields)
        log.log(decision.level, "auth: %s", line)
