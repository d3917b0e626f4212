"""`[client_certificates]`: members log in with an X.509 client certificate (SASL
EXTERNAL, RFC 4422 Appendix A) on the listeners named here — the legacy host's to-dos
"X.509 client authentication for mail" and "CRL checking".

The CA bundle says whose certificates are accepted; CRL files (re-read when they change)
and, if allowed, the certificate's own CRL distribution point say which are revoked;
`account_from` says how a certificate names its account. Password logins go on working
on the same listeners: a certificate is requested, never required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from mailroom.config.section import Section, Size

SAN_EMAIL = "san:email"
"""The subjectAltName's rfc822Name entries (RFC 5280 §4.2.1.6)."""
SUBJECT_PREFIX = "subject:"
MAX_SOURCE_LENGTH = 128
SUBJECT_ATTRIBUTES = frozenset(
    {
        "CN",
        "UID",
        "emailAddress",
        "serialNumber",
        "O",
        "OU",
        "C",
        "L",
        "ST",
        "DC",
        "GN",
        "SN",
        "pseudonym",
    }
)
"""Short names a subject source may use (OpenSSL's); any other attribute by dotted OID."""
_OID = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]{0,8})){1,30}")


@dataclass(frozen=True)
class AccountSource:
    """Where a certificate names its account: the SAN e-mail addresses, or one subject
    attribute (`attribute` is a short name from SUBJECT_ATTRIBUTES or a dotted OID)."""

    attribute: str | None
    """None for the subjectAltName's rfc822Name entries."""

    def __str__(self) -> str:
        return SAN_EMAIL if self.attribute is None else f"{SUBJECT_PREFIX}{self.attribute}"


def parse_account_source(text: str) -> AccountSource:
    """`san:email`, `subject:emailAddress`, `subject:CN`, `subject:2.5.4.45`, ...;
    ValueError saying what is accepted."""
    if len(text) > MAX_SOURCE_LENGTH:
        raise ValueError(f"an account source is at most {MAX_SOURCE_LENGTH} characters")
    if text.lower() == SAN_EMAIL:
        return AccountSource(None)
    prefix, colon, attribute = text.partition(":")
    if colon and prefix.lower() == "subject":
        if attribute in SUBJECT_ATTRIBUTES or _OID.fullmatch(attribute):
            return AccountSource(attribute)
        known = ", ".join(sorted(SUBJECT_ATTRIBUTES))
        raise ValueError(
            f"{attribute[:40]!r} is no subject attribute: use one of {known} or a dotted OID"
        )
    raise ValueError(
        f"{text[:40]!r} is no account source: use {SAN_EMAIL!r} or 'subject:ATTRIBUTE' "
        "(e.g. 'subject:emailAddress', 'subject:CN')"
    )


class ClientCertificatesConfig(Section):
    """Login with a client certificate (SASL EXTERNAL) and how it is checked."""

    listeners: list[str] = Field(default_factory=list)
    """Names of the listeners that ask clients for a certificate: submission, imap,
    pop3, managesieve or web ones with TLS (starttls or implicit). A client without one
    logs in with its password as before (on a web listener: unless it is one of `[web]
    certificate_required_listeners`)."""
    ca_file: Path | None = None
    """PEM bundle of the CAs whose client certificates are accepted: the roots and the
    intermediates that issue members' certificates (relative to the config file's
    directory). Read at start."""
    crl_files: list[Path] = Field(default_factory=list)
    """CRLs (PEM or DER) of those CAs; each is read again when it changes on disk."""
    require_crl: bool = True
    """Refuse a certificate when no current CRL of its issuer is known (fail closed)."""
    fetch_crls: bool = False
    """When the CRL of a certificate's issuer is missing or past its nextUpdate, fetch
    it from the certificate's CRL distribution point (http:// only; RFC 5280 §4.2.1.13).
    Fetched CRLs are kept in the data directory (`crl-cache/`) until their nextUpdate."""
    fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Longest one fetch may take, connection to last byte."""
    fetch_max_size: Size = Field(default=20 * 1024 * 1024, le=512 * 1024 * 1024)
    """Largest CRL accepted from a distribution point."""
    fetch_retry_seconds: float = Field(default=300.0, ge=0)
    """After a failed fetch, wait this long before the next one from that address."""
    account_from: list[str] = Field(default_factory=lambda: [SAN_EMAIL, "subject:emailAddress"])
    """Where a certificate names its account, tried in order; the first source with a
    value decides. `san:email` (subjectAltName rfc822Name), `subject:emailAddress`, or
    any `subject:ATTRIBUTE` (CN, UID, ... or a dotted OID); a value without `@` gets
    [auth] default_domain."""

    @field_validator("account_from")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one account source, e.g. ['san:email']")
        if len(value) > 8:
            raise ValueError("at most 8 account sources")
        for text in value:
            parse_account_source(text)
        return value

    @field_validator("listeners")
    @classmethod
    def _listener_names(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"listener names repeated: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _bundle_with_listeners(self) -> ClientCertificatesConfig:
        if self.listeners and self.ca_file is None:
            raise ValueError("listeners ask for client certificates: set ca_file, the CA bundle")
        return self

    @property
    def sources(self) -> tuple[AccountSource, ...]:
        return tuple(parse_account_source(text) for text in self.account_from)
