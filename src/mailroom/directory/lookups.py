"""The questions the directory's operations ask inside their transactions: which id a
name has, who already holds an address, which aliases forward where, and the records
to hand back. Each takes the open connection, so it sees what its transaction sees.

Lists are sorted here, in Python, because the backends' collations sort differently and
callers should see one order everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from mailroom.directory.addresses import split_address
from mailroom.directory.errors import AlreadyExists, InUse, NotFound, UnknownDomain
from mailroom.directory.records import Account, Alias
from mailroom.directory.schema import (
    accounts,
    alias_targets,
    aliases,
    domains,
    extra_addresses,
    send_as_grants,
)

IN_CHUNK = 500
"""Addresses per `IN (...)`: the backends cap the number of parameters per statement."""


def in_chunks(items: Collection[str]) -> Iterable[list[str]]:
    """`items`, sorted, in lists short enough for one `IN (...)`."""
    ordered = sorted(items)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


async def domain_id_of(connection: AsyncConnection, name: str) -> int | None:
    value = await connection.scalar(select(domains.c.id).where(domains.c.name == name))
    return None if value is None else int(value)


async def local_domain_id(connection: AsyncConnection, address: str) -> int:
    """The id of `address`'s domain; UnknownDomain if it is not local."""
    domain = split_address(address)[1]
    domain_id = await domain_id_of(connection, domain)
    if domain_id is None:
        raise UnknownDomain(domain)
    return domain_id


async def holder_of(connection: AsyncConnection, address: str) -> str | None:
    """What already has `address`, in words, or None if it is free."""
    if await connection.scalar(select(accounts.c.id).where(accounts.c.address == address)):
        return "an account"
    owner = await connection.scalar(
        select(accounts.c.address)
        .join(extra_addresses, extra_addresses.c.account_id == accounts.c.id)
        .where(extra_addresses.c.address == address)
    )
    if owner is not None:
        return f"an extra address of {owner}"
    if await connection.scalar(select(aliases.c.id).where(aliases.c.address == address)):
        return "an alias"
    return None


async def refuse_taken(connection: AsyncConnection, address: str) -> None:
    holder = await holder_of(connection, address)
    if holder is not None:
        raise AlreadyExists(f"{address} is already {holder}")


async def account_id_of(connection: AsyncConnection, address: str) -> int | None:
    value = await connection.scalar(select(accounts.c.id).where(accounts.c.address == address))
    return None if value is None else int(value)


async def require_account(connection: AsyncConnection, address: str) -> int:
    """The id of the account whose primary address this is; NotFound saying what
    `address` is instead."""
    account_id = await account_id_of(connection, address)
    if account_id is not None:
        return account_id
    holder = await holder_of(connection, address)
    if holder is not None:
        raise NotFound(f"{address} is {holder}, not an account's primary address")
    raise NotFound(f"no account {address}")


async def alias_id_of(connection: AsyncConnection, address: str) -> int | None:
    value = await connection.scalar(select(aliases.c.id).where(aliases.c.address == address))
    return None if value is None else int(value)


async def require_alias(connection: AsyncConnection, address: str) -> int:
    alias_id = await alias_id_of(connection, address)
    if alias_id is None:
        raise NotFound(f"no alias {address}")
    return alias_id


async def aliases_targeting(connection: AsyncConnection, addresses: Collection[str]) -> list[str]:
    """The aliases that forward to any of `addresses`, sorted."""
    found: set[str] = set()
    for chunk in in_chunks(addresses):
        rows = await connection.execute(
            select(aliases.c.address)
            .join(alias_targets, alias_targets.c.alias_id == aliases.c.id)
            .where(alias_targets.c.target.in_(chunk))
        )
        found.update(row.address for row in rows)
    return sorted(found)


async def refuse_while_targeted(
    connection: AsyncConnection, addresses: Collection[str], named: str
) -> None:
    """InUse while aliases forward to any of `addresses` (`named`, in the message)."""
    targeting = await aliases_targeting(connection, addresses)
    if targeting:
        raise InUse(
            f"aliases forward to {named}: {', '.join(targeting)}; "
            "change or remove those aliases first"
        )


async def existing_addresses(connection: AsyncConnection, addresses: Collection[str]) -> set[str]:
    """Those of `addresses` that are an account, an extra address or an alias."""
    found: set[str] = set()
    for chunk in in_chunks(addresses):
        for column in (accounts.c.address, extra_addresses.c.address, aliases.c.address):
            rows = await connection.execute(select(column).where(column.in_(chunk)))
            found.update(row[0] for row in rows)
    return found


async def local_domains_among(connection: AsyncConnection, names: Collection[str]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(names):
        rows = await connection.execute(select(domains.c.name).where(domains.c.name.in_(chunk)))
        found.update(row.name for row in rows)
    return found


async def load_account(connection: AsyncConnection, account_id: int) -> Account:
    row = (await connection.execute(select(accounts).where(accounts.c.id == account_id))).one()
    extras = await connection.execute(
        select(extra_addresses.c.address).where(extra_addresses.c.account_id == account_id)
    )
    return account_record(row, sorted(extra.address for extra in extras))


async def load_alias(connection: AsyncConnection, alias_id: int) -> Alias:
    address = await connection.scalar(select(aliases.c.address).where(aliases.c.id == alias_id))
    targets = await connection.execute(
        select(alias_targets.c.target).where(alias_targets.c.alias_id == alias_id)
    )
    grants = await connection.execute(
        select(accounts.c.address)
        .join(send_as_grants, send_as_grants.c.account_id == accounts.c.id)
        .where(send_as_grants.c.alias_id == alias_id)
    )
    return Alias(
        address=str(address),
        targets=tuple(sorted(row.target for row in targets)),
        send_as=tuple(sorted(row.address for row in grants)),
    )


def account_record(row: Any, extra_addresses: Sequence[str]) -> Account:
    """An `accounts` row and its extra addresses as the record callers see."""
    return Account(
        address=row.address,
        display_name=row.display_name,
        password_hash=row.password_hash,
        quota_bytes=None if row.quota_bytes is None else int(row.quota_bytes),
        enabled=bool(row.enabled),
        extra_addresses=tuple(extra_addresses),
        created=row.created,
    )
