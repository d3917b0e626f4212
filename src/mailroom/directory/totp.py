"""TOTP secrets of the accounts that log in to the web admin with a password and a code
(schema.totp_secrets, RFC 6238): one secret per account, first kept unconfirmed while
its owner enrols, confirmed once a code from their authenticator app has matched.

Written without bumping the directory's version (`_recording`): no cache holds these
rows, and no mail protocol reads them. The code check itself (pyotp) is the web's
(`web.totp`); this room only stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from mailroom.directory.addresses import normalize_address
from mailroom.directory.errors import InvalidValue
from mailroom.directory.lookups import require_account
from mailroom.directory.schema import totp_secrets
from mailroom.directory.transactions import Transactions

SECRET_LENGTH = 64
"""The column's size: a base32 secret of up to 320 bits."""
_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


@dataclass(frozen=True)
class TotpSecret:
    secret: str
    """Base32, as authenticator apps take it (RFC 4648 §6, no padding)."""
    confirmed: bool
    """False while enrolling: such a secret is not yet asked for at login."""
    created: datetime


class TotpOperations(Transactions):
    async def totp_secret(self, address: str) -> TotpSecret | None:
        """The account's secret (NotFound: no such account)."""
        account = normalize_address(address)
        async with self._reading() as connection:
            account_id = await require_account(connection, account)
            row = (
                await connection.execute(
                    select(totp_secrets).where(totp_secrets.c.account_id == account_id)
                )
            ).first()
        if row is None:
            return None
        return TotpSecret(row.secret, bool(row.confirmed), row.created)

    async def set_totp_secret(self, address: str, secret: str) -> TotpSecret:
        """Start (or restart) enrolment: `secret`, unconfirmed, replaces any other."""
        if not 16 <= len(secret) <= SECRET_LENGTH or not set(secret) <= _BASE32:
            raise InvalidValue(
                f"a TOTP secret is 16 to {SECRET_LENGTH} base32 characters (A-Z, 2-7)"
            )
        account = normalize_address(address)
        entry = TotpSecret(secret, False, datetime.now(UTC))
        async with self._recording() as connection:
            account_id = await require_account(connection, account)
            await connection.execute(
                delete(totp_secrets).where(totp_secrets.c.account_id == account_id)
            )
            await connection.execute(
                insert(totp_secrets).values(
                    account_id=account_id,
                    secret=entry.secret,
                    confirmed=entry.confirmed,
                    created=entry.created,
                )
            )
        return entry

    async def confirm_totp_secret(self, address: str, secret: str) -> bool:
        """Mark the account's secret confirmed, if it still is `secret` (an enrolment
        restarted in another window meanwhile is not confirmed by this one's code)."""
        account = normalize_address(address)
        async with self._recording() as connection:
            account_id = await require_account(connection, account)
            result = await connection.execute(
                update(totp_secrets)
                .where(totp_secrets.c.account_id == account_id, totp_secrets.c.secret == secret)
                .values(confirmed=True)
            )
        return bool(result.rowcount)

    async def remove_totp_secret(self, address: str) -> bool:
        """Forget the account's secret (whether it had one)."""
        account = normalize_address(address)
        async with self._recording() as connection:
            account_id = await require_account(connection, account)
            result = await connection.execute(
                delete(totp_secrets).where(totp_secrets.c.account_id == account_id)
            )
        return bool(result.rowcount)
