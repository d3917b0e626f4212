"""Many accounts and extra addresses at once, for `mailroom import legacy`: the checks of
`add_account` and `add_address`, asked of the database a few hundred addresses at a time
(`IN (...)`) instead of one address at a time, and the rows inserted together.

Each item gets the refusal `add_account`/`add_address` would have raised for it alone
(InvalidAddress, InvalidValue, UnknownDomain, AlreadyExists, NotFound, with the same
words), or None when it was made; the others are made all the same. Items are taken in
order, so an address given twice in one call is refused the second time, as two calls
one after the other would do. The whole call is one write (`_writing`: in a `batch()`,
one savepoint), so the database, refusing anything itself (a race the version lock
already excludes), undoes the whole call and raises.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mailroom.directory.accounts import (
    _check_display_name,
    _check_password_hash,
)
from mailroom.directory.addresses import normalize_address, split_address
from mailroom.directory.errors import AlreadyExists, DirectoryError, NotFound, UnknownDomain
from mailroom.directory.lookups import existing_addresses, in_chunks
from mailroom.directory.schema import accounts, domains, extra_addresses
from mailroom.directory.transactions import Transactions


@dataclass(frozen=True)
class NewAccount:
    address: str
    password_hash: str
    display_name: str = ""


class BulkOperations(Transactions):
    async def add_accounts(self, new: Sequence[NewAccount]) -> list[DirectoryError | None]:
        """Create these accounts (enabled, the default quota), as `add_account` would one
        by one; per item, the refusal or None (module docstring)."""
        results: list[DirectoryError | None] = [None] * len(new)
        wanted: dict[str, int] = {}  # address → index
        for index, item in enumerate(new):
            try:
                address = normalize_address(item.address)
                _check_password_hash(item.password_hash)
                _check_display_name(item.display_name)
            except DirectoryError as error:
                results[index] = error
                continue
            if address in wanted:
                results[index] = AlreadyExists(f"{address} is already an account")
                continue
            wanted[address] = index
        created = datetime.now(UTC)
        async with self._writing() as connection:
            domain_ids = await _ids(
                connection, domains.c.name, {split_address(a)[1] for a in wanted}
            )
            taken = await _holders(connection, wanted)
            rows = []
            for address, index in wanted.items():
                domain = split_address(address)[1]
                if domain not in domain_ids:
                    results[index] = UnknownDomain(domain)
                elif address in taken:
                    results[index] = AlreadyExists(f"{address} is already {taken[address]}")
                else:
                    item = new[index]
                    rows.append(
                        {
                            "address": address,
                            "domain_id": domain_ids[domain],
                            "display_name": item.display_name,
                            "password_hash": item.password_hash,
                            "quota_bytes": None,
                            "enabled": True,
                            "created": created,
                        }
                    )
            if rows:
                await connection.execute(insert(accounts), rows)
        return results

    async def add_addresses(self, pairs: Sequence[tuple[str, str]]) -> list[DirectoryError | None]:
        """Deliver each (account, address) pair's address to its account too, as
        `add_address` would one by one; per pair, the refusal or None."""
        results: list[DirectoryError | None] = [None] * len(pairs)
        wanted: dict[str, tuple[int, str]] = {}  # address → (index, account)
        for index, (account, address) in enumerate(pairs):
            try:
                owner, extra = normalize_address(account), normalize_address(address)
            except DirectoryError as error:
                results[index] = error
                continue
            if extra in wanted:
                results[index] = AlreadyExists(f"{extra} is already an extra address of {owner}")
                continue
            wanted[extra] = (index, owner)
        async with self._writing() as connection:
            owners = {owner for _, owner in wanted.values()}
            account_ids = await _ids(connection, accounts.c.address, owners)
            domain_ids = await _ids(
                connection, domains.c.name, {split_address(a)[1] for a in wanted}
            )
            taken = await _holders(connection, wanted)
            rows = []
            for extra, (index, owner) in wanted.items():
                domain = split_address(extra)[1]
                if owner not in account_ids:
                    results[index] = NotFound(f"no account {owner}")
                elif domain not in domain_ids:
                    results[index] = UnknownDomain(domain)
                elif extra in taken:
                    results[index] = AlreadyExists(f"{extra} is already {taken[extra]}")
                else:
                    rows.append(
                        {
                            "address": extra,
                            "account_id": account_ids[owner],
                            "domain_id": domain_ids[domain],
                        }
                    )
            if rows:
                await connection.execute(insert(extra_addresses), rows)
        return results


async def _ids(connection: AsyncConnection, key: Column[str], names: set[str]) -> dict[str, int]:
    """The row id of each of `names` found in `key`'s table (domains.name, accounts.address)."""
    found: dict[str, int] = {}
    for chunk in in_chunks(names):
        rows = await connection.execute(select(key, key.table.c.id).where(key.in_(chunk)))
        found.update((row[0], int(row[1])) for row in rows)
    return found


async def _holders(connection: AsyncConnection, addresses: Collection[str]) -> dict[str, str]:
    """Those of `addresses` already taken, with what holds them in `holder_of`'s words."""
    taken = await existing_addresses(connection, addresses)
    found: dict[str, str] = {}
    for chunk in in_chunks(taken):
        for row in await connection.execute(
            select(accounts.c.address).where(accounts.c.address.in_(chunk))
        ):
            found[row.address] = "an account"
        for row in await connection.execute(
            select(extra_addresses.c.address, accounts.c.address.label("owner"))
            .join(accounts, extra_addresses.c.account_id == accounts.c.id)
            .where(extra_addresses.c.address.in_(chunk))
        ):
            found.setdefault(row.address, f"an extra address of {row.owner}")
    for address in taken:
        found.setdefault(address, "an alias")
    return found
