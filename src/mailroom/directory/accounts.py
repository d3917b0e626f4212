"""Accounts (a login, a mailbox, a password hash, a quota) and their extra addresses
(other addresses delivered to the same mailbox: the legacy `fullnamealias`).

An account's primary address is its login name. Every address is unique across
accounts, extra addresses and aliases; an account or extra address that aliases
forward to cannot be removed until they no longer do. Mail on disk is not this room's
business: removing an account leaves its Maildir where it is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from mailroom.directory.addresses import normalize_address, normalize_domain
from mailroom.directory.errors import InvalidAddress, InvalidValue, NotFound, UnknownDomain
from mailroom.directory.lookups import (
    account_id_of,
    account_record,
    domain_id_of,
    holder_of,
    load_account,
    local_domain_id,
    refuse_taken,
    refuse_while_targeted,
    require_account,
)
from mailroom.directory.records import Account
from mailroom.directory.schema import (
    DISPLAY_NAME_LENGTH,
    PASSWORD_HASH_LENGTH,
    account_certificates,
    accounts,
    app_passwords,
    extra_addresses,
    send_as_grants,
    totp_secrets,
)
from mailroom.directory.transactions import Transactions

MAX_QUOTA_BYTES = 2**63 - 1  # BIGINT


class _NothingChanged(Exception):
    """Raised inside a write to roll it back, version bump included, without an error."""


# -- values other than addresses -------------------------------------------------------------


def _check_password_hash(password_hash: str) -> None:
    if not isinstance(password_hash, str) or not password_hash:
        raise InvalidValue("the password hash is empty; store '!' to allow no password")
    if len(password_hash) > PASSWORD_HASH_LENGTH:
        raise InvalidValue(f"the password hash is longer than {PASSWORD_HASH_LENGTH} characters")
    if not (password_hash.isascii() and password_hash.isprintable()) or " " in password_hash:
        raise InvalidValue("a password hash is printable ASCII without spaces")


def _check_display_name(display_name: str) -> None:
    if not isinstance(display_name, str):
        raise InvalidValue("the display name must be text")
    if len(display_name) > DISPLAY_NAME_LENGTH:
        raise InvalidValue(f"the display name is longer than {DISPLAY_NAME_LENGTH} characters")
    # It ends up in headers and listings: no line breaks or other control characters.
    if not display_name.isprintable():
        raise InvalidValue("the display name contains line breaks or control characters")


def _check_quota(quota_bytes: int | None) -> None:
    if quota_bytes is None:
        return
    if isinstance(quota_bytes, bool) or not isinstance(quota_bytes, int):
        raise InvalidValue("the quota must be a whole number of bytes, or none for unlimited")
    if not 0 <= quota_bytes <= MAX_QUOTA_BYTES:
        raise InvalidValue(
            f"the quota must be between 0 and {MAX_QUOTA_BYTES} bytes, not {quota_bytes}"
        )


def _check_flag(value: bool, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidValue(f"{name} must be true or false")


class AccountOperations(Transactions):
    async def add_account(
        self,
        address: str,
        password_hash: str,
        *,
        display_name: str = "",
        quota_bytes: int | None = None,
        enabled: bool = True,
    ) -> Account:
        account = normalize_address(address)
        _check_password_hash(password_hash)
        _check_display_name(display_name)
        _check_quota(quota_bytes)
        _check_flag(enabled, "enabled")
        created = datetime.now(UTC)
        async with self._writing() as connection:
            domain_id = await local_domain_id(connection, account)
            await refuse_taken(connection, account)
            await connection.execute(
                insert(accounts).values(
                    address=account,
                    domain_id=domain_id,
                    display_name=display_name,
                    password_hash=password_hash,
                    quota_bytes=quota_bytes,
                    enabled=enabled,
                    created=created,
                )
            )
        return Account(
            address=account,
            display_name=display_name,
            password_hash=password_hash,
            quota_bytes=quota_bytes,
            enabled=enabled,
            extra_addresses=(),
            created=created,
        )

    async def get_account(self, address: str) -> Account:
        """The account whose primary address (login name) this is; NotFound otherwise."""
        account = normalize_address(address)
        async with self._reading() as connection:
            return await load_account(connection, await require_account(connection, account))

    async def find_account(self, address: str) -> Account | None:
        """The account that `address` (primary or extra) delivers to; None if there is none,
        or if `address` is not even a valid address."""
        try:
            wanted = normalize_address(address)
        except InvalidAddress:
            return None
        async with self._reading() as connection:
            account_id = await account_id_of(connection, wanted)
            if account_id is None:
                account_id = await connection.scalar(
                    select(extra_addresses.c.account_id).where(extra_addresses.c.address == wanted)
                )
            if account_id is None:
                return None
            return await load_account(connection, int(account_id))

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        """All accounts, or those whose primary address is in `domain` (UnknownDomain if it
        is not local: a typo should not look like an empty domain)."""
        account_query = select(accounts)
        extras_query = select(extra_addresses.c.account_id, extra_addresses.c.address)
        async with self._reading() as connection:
            if domain is not None:
                name = normalize_domain(domain)
                domain_id = await domain_id_of(connection, name)
                if domain_id is None:
                    raise UnknownDomain(name)
                account_query = account_query.where(accounts.c.domain_id == domain_id)
                extras_query = extras_query.join(
                    accounts, accounts.c.id == extra_addresses.c.account_id
                ).where(accounts.c.domain_id == domain_id)
            extras: dict[int, list[str]] = {}
            for extra in await connection.execute(extras_query):
                extras.setdefault(extra.account_id, []).append(extra.address)
            rows = await connection.execute(account_query)
            return sorted(
                (account_record(row, sorted(extras.get(row.id, []))) for row in rows),
                key=lambda account: account.address,
            )

    async def set_password_hash(
        self, address: str, password_hash: str, *, expected_old: str | None = None
    ) -> bool:
        """Store a new hash. With `expected_old`, only if the stored hash is still that one
        (compare-and-set): a hash upgraded at login must not undo a `passwd` that happened
        meanwhile. Returns whether the hash was stored."""
        account = normalize_address(address)
        _check_password_hash(password_hash)
        try:
            async with self._writing() as connection:
                account_id = await require_account(connection, account)
                if expected_old is not None:
                    # Compared here, not in SQL: MySQL's PAD SPACE collations would call
                    # "hash" and "hash " equal. The version lock keeps it current.
                    stored = await connection.scalar(
                        select(accounts.c.password_hash).where(accounts.c.id == account_id)
                    )
                    if stored != expected_old:
                        raise _NothingChanged
                await connection.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(password_hash=password_hash)
                )
        except _NothingChanged:
            return False
        return True

    async def set_enabled(self, address: str, enabled: bool) -> Account:
        account = normalize_address(address)
        _check_flag(enabled, "enabled")
        async with self._writing() as connection:
            account_id = await require_account(connection, account)
            await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values(enabled=enabled)
            )
            return await load_account(connection, account_id)

    async def update_account(
        self,
        address: str,
        *,
        display_name: str | None = None,
        quota_bytes: int | None = None,
        clear_quota: bool = False,
    ) -> Account:
        """Change what is given: a display name, a quota, or `clear_quota` for unlimited."""
        account = normalize_address(address)
        values: dict[str, object] = {}
        if display_name is not None:
            _check_display_name(display_name)
            values["display_name"] = display_name
        if clear_quota and quota_bytes is not None:
            raise InvalidValue("give a quota or clear it, not both")
        if quota_bytes is not None:
            _check_quota(quota_bytes)
            values["quota_bytes"] = quota_bytes
        if clear_quota:
            values["quota_bytes"] = None
        if not values:
            return await self.get_account(account)
        async with self._writing() as connection:
            account_id = await require_account(connection, account)
            await connection.execute(
                update(accounts).where(accounts.c.id == account_id).values(**values)
            )
            return await load_account(connection, account_id)

    async def remove_account(self, address: str) -> None:
        """Remove the account with its extra addresses, send-as grants, app passwords,
        registered certificates and TOTP secret. Refuses (InUse) while aliases forward to
        it. Its mail on disk is not this room's business."""
        account = normalize_address(address)
        async with self._writing() as connection:
            account_id = await require_account(connection, account)
            extras = await connection.execute(
                select(extra_addresses.c.address).where(extra_addresses.c.account_id == account_id)
            )
            addresses = [account, *(row.address for row in extras)]
            await refuse_while_targeted(connection, addresses, f"{account} or its extra addresses")
            await connection.execute(
                delete(send_as_grants).where(send_as_grants.c.account_id == account_id)
            )
            for owned in (app_passwords, account_certificates):  # self-service's rows
                await connection.execute(delete(owned).where(owned.c.account_id == account_id))
            await connection.execute(
                delete(extra_addresses).where(extra_addresses.c.account_id == account_id)
            )
            await connection.execute(
                delete(totp_secrets).where(totp_secrets.c.account_id == account_id)
            )
            await connection.execute(delete(accounts).where(accounts.c.id == account_id))

    # -- extra addresses --------------------------------------------------------------------

    async def add_address(self, account: str, address: str) -> Account:
        """Deliver `address` (in a local domain, not yet taken) to `account` too."""
        owner = normalize_address(account)
        extra = normalize_address(address)
        async with self._writing() as connection:
            account_id = await require_account(connection, owner)
            domain_id = await local_domain_id(connection, extra)
            await refuse_taken(connection, extra)
            await connection.execute(
                insert(extra_addresses).values(
                    address=extra, account_id=account_id, domain_id=domain_id
                )
            )
            return await load_account(connection, account_id)

    async def remove_address(self, address: str) -> Account:
        """Remove an extra address; returns its account. Refuses (InUse) while aliases
        forward to it."""
        extra = normalize_address(address)
        async with self._writing() as connection:
            account_id = await connection.scalar(
                select(extra_addresses.c.account_id).where(extra_addresses.c.address == extra)
            )
            if account_id is None:
                holder = await holder_of(connection, extra)
                raise NotFound(
                    f"{extra} is {holder}, not an extra address"
                    if holder
                    else f"no extra address {extra}"
                )
            await refuse_while_targeted(connection, [extra], extra)
            await connection.execute(
                delete(extra_addresses).where(extra_addresses.c.address == extra)
            )
            return await load_account(connection, int(account_id))
