"""Members' registered client certificates (schema.account_certificates): the ones a
member says are theirs. An account with any registered certificate logs in by
certificate only with one of them (`auth.certificate_login` pins them by fingerprint);
one without logs in with any certificate of the configured CAs that names it, as before.

Registering or removing one bumps the directory's version, so every process's cached
records see it at the next login. Reading the certificate (PEM, its fingerprint,
subject and expiry) is the caller's work: this room stores what it is given.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from mailroom.directory.addresses import normalize_address
from mailroom.directory.errors import AlreadyExists, InvalidValue
from mailroom.directory.lookups import account_id_of, require_account
from mailroom.directory.schema import account_certificates, accounts
from mailroom.directory.transactions import Transactions

SUBJECT_LENGTH = 1000
MAX_CERTIFICATES = 20
"""Certificates one account may register."""


@dataclass(frozen=True)
class AccountCertificate:
    account: str
    fingerprint: str
    """SHA-256 of the DER certificate, 64 lower-case hex digits."""
    subject: str
    """RFC 4514 text, for the member's list."""
    not_after: datetime
    added: datetime


def checked_fingerprint(fingerprint: str) -> str:
    """A SHA-256 fingerprint as stored: 64 lower-case hex digits (colons removed)."""
    text = fingerprint.replace(":", "").strip().lower()
    if len(text) != 64 or any(c not in string.hexdigits for c in text):
        raise InvalidValue(f"not a SHA-256 fingerprint: {fingerprint[:100]!r}")
    return text


class CertificateOperations(Transactions):
    async def add_certificate(
        self, address: str, fingerprint: str, subject: str, not_after: datetime
    ) -> AccountCertificate:
        """Register a certificate as the account's. AlreadyExists if any account has
        registered it (a certificate is one person's)."""
        account = normalize_address(address)
        fingerprint = checked_fingerprint(fingerprint)
        subject = subject if len(subject) <= SUBJECT_LENGTH else subject[: SUBJECT_LENGTH - 1] + "…"
        if not_after.tzinfo is None:
            raise InvalidValue("a certificate's expiry needs a time zone")
        added = datetime.now(UTC)
        async with self._writing() as connection:
            account_id = await require_account(connection, account)
            taken = await connection.scalar(
                select(accounts.c.address)
                .join(account_certificates, account_certificates.c.account_id == accounts.c.id)
                .where(account_certificates.c.fingerprint == fingerprint)
            )
            if taken is not None:
                raise AlreadyExists(
                    "this certificate is registered already"
                    + (" to this account" if taken == account else " to another account")
                )
            count = await connection.scalar(
                select(func.count())
                .select_from(account_certificates)
                .where(account_certificates.c.account_id == account_id)
            )
            if int(count or 0) >= MAX_CERTIFICATES:
                raise InvalidValue(
                    f"{account} has {MAX_CERTIFICATES} certificates registered; remove one first"
                )
            await connection.execute(
                insert(account_certificates).values(
                    account_id=account_id,
                    fingerprint=fingerprint,
                    subject=subject,
                    not_after=not_after,
                    added=added,
                )
            )
        return AccountCertificate(account, fingerprint, subject, not_after, added)

    async def account_certificates(self, address: str) -> list[AccountCertificate]:
        """The certificates the account has registered, oldest first; none for an
        address that is no account's primary address."""
        account = normalize_address(address)
        async with self._reading() as connection:
            rows = await connection.execute(
                select(account_certificates)
                .join(accounts, accounts.c.id == account_certificates.c.account_id)
                .where(accounts.c.address == account)
                .order_by(account_certificates.c.id)
            )
            return [_record(row, account) for row in rows]

    async def remove_certificate(self, address: str, fingerprint: str) -> bool:
        """Unregister the account's certificate; whether it had it."""
        account = normalize_address(address)
        fingerprint = checked_fingerprint(fingerprint)
        async with self._writing() as connection:
            account_id = await account_id_of(connection, account)
            if account_id is None:
                return False
            result = await connection.execute(
                delete(account_certificates).where(
                    account_certificates.c.fingerprint == fingerprint,
                    account_certificates.c.account_id == account_id,
                )
            )
            return bool(result.rowcount)


def _record(row: Any, account: str) -> AccountCertificate:
    return AccountCertificate(
        account=account,
        fingerprint=row.fingerprint,
        subject=row.subject,
        not_after=row.not_after,
        added=row.added,
    )
