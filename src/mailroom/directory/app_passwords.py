"""App passwords: one password per mail client of a member (schema.app_passwords), so a
phone can be given a password of its own and lose it alone, without the account's.

Only the argon2id hash is kept; the password itself is shown once, when it is made. Each
row has an id the password carries (`auth.app_passwords` says how), so a login checks one
hash, never all of a member's. Making or revoking one bumps the directory's version, so
every process's cached records see it at the next login; the time of last use is written
with `_recording` (no bump): a login must not make every process reload its caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from mailroom.directory.accounts import _check_password_hash
from mailroom.directory.addresses import normalize_address
from mailroom.directory.errors import InvalidValue
from mailroom.directory.lookups import account_id_of, require_account
from mailroom.directory.schema import accounts, app_passwords
from mailroom.directory.transactions import Transactions

LABEL_LENGTH = 100
MAX_APP_PASSWORDS = 50
"""App passwords one account may have at once (a list a member can still read)."""


@dataclass(frozen=True)
class AppPassword:
    id: int
    account: str
    """The account's primary address."""
    label: str
    """What the member called it: "phone", "laptop Thunderbird"."""
    password_hash: str
    created: datetime
    last_used: datetime | None


def _check_label(label: str) -> str:
    if not isinstance(label, str):
        raise InvalidValue("an app password's label must be text")
    label = label.strip()
    if not label:
        raise InvalidValue("an app password needs a label (e.g. the device it is for)")
    if len(label) > LABEL_LENGTH:
        raise InvalidValue(f"an app password's label is at most {LABEL_LENGTH} characters")
    if not label.isprintable():
        raise InvalidValue("an app password's label may not hold line breaks or control characters")
    return label


class AppPasswordOperations(Transactions):
    async def add_app_password(self, address: str, label: str, password_hash: str) -> AppPassword:
        """A new app password of the account `address` (NotFound if none), at most
        MAX_APP_PASSWORDS per account (InvalidValue past that)."""
        account = normalize_address(address)
        label = _check_label(label)
        _check_password_hash(password_hash)
        created = datetime.now(UTC)
        async with self._writing() as connection:
            account_id = await require_account(connection, account)
            count = await connection.scalar(
                select(func.count())
                .select_from(app_passwords)
                .where(app_passwords.c.account_id == account_id)
            )
            if int(count or 0) >= MAX_APP_PASSWORDS:
                raise InvalidValue(
                    f"{account} has {MAX_APP_PASSWORDS} app passwords already; revoke one first"
                )
            result = await connection.execute(
                insert(app_passwords).values(
                    account_id=account_id,
                    label=label,
                    password_hash=password_hash,
                    created=created,
                    last_used=None,
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return AppPassword(new_id, account, label, password_hash, created, None)

    async def app_passwords(self, address: str) -> list[AppPassword]:
        """The account's app passwords, oldest first (NotFound if there is no account)."""
        account = normalize_address(address)
        async with self._reading() as connection:
            account_id = await require_account(connection, account)
            rows = await connection.execute(
                select(app_passwords)
                .where(app_passwords.c.account_id == account_id)
                .order_by(app_passwords.c.id)
            )
            return [_record(row, account) for row in rows]

    async def find_app_password(self, address: str, password_id: int) -> AppPassword | None:
        """The app password `password_id` if it belongs to the account `address` (its
        primary address); None otherwise."""
        account = normalize_address(address)
        async with self._reading() as connection:
            row = (
                await connection.execute(
                    select(app_passwords)
                    .join(accounts, accounts.c.id == app_passwords.c.account_id)
                    .where(app_passwords.c.id == password_id, accounts.c.address == account)
                )
            ).first()
            return None if row is None else _record(row, account)

    async def revoke_app_password(self, address: str, password_id: int) -> bool:
        """Remove the account's app password `password_id`; whether there was one. A
        client using it is refused at its next login, in every process."""
        account = normalize_address(address)
        async with self._writing() as connection:
            account_id = await account_id_of(connection, account)
            if account_id is None:
                return False
            result = await connection.execute(
                delete(app_passwords).where(
                    app_passwords.c.id == password_id, app_passwords.c.account_id == account_id
                )
            )
            return bool(result.rowcount)

    async def record_app_password_use(self, password_id: int, at: datetime) -> None:
        """Note when an app password last logged in, without bumping the version."""
        async with self._recording() as connection:
            await connection.execute(
                update(app_passwords).where(app_passwords.c.id == password_id).values(last_used=at)
            )


def _record(row: Any, account: str) -> AppPassword:
    return AppPassword(
        id=int(row.id),
        account=account,
        label=row.label,
        password_hash=row.password_hash,
        created=row.created,
        last_used=row.last_used,
    )
