"""Aliases (an address forwarding to local or external addresses) and send-as grants
(accounts allowed to use an alias as their sender).

An alias may forward only to local addresses that exist, or to other domains; it may
never, through other aliases, come back to itself. An alias that other aliases forward
to cannot be removed until they no longer do.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mailroom.directory.addresses import normalize_address, normalize_domain, split_address
from mailroom.directory.errors import (
    AliasLoop,
    AlreadyExists,
    InvalidAddress,
    InvalidValue,
    NotFound,
    UnknownDomain,
)
from mailroom.directory.lookups import (
    account_id_of,
    domain_id_of,
    existing_addresses,
    in_chunks,
    load_alias,
    local_domain_id,
    local_domains_among,
    refuse_taken,
    refuse_while_targeted,
    require_account,
    require_alias,
)
from mailroom.directory.records import Alias
from mailroom.directory.schema import (
    accounts,
    alias_targets,
    aliases,
    extra_addresses,
    send_as_grants,
)
from mailroom.directory.transactions import Transactions


class AliasOperations(Transactions):
    async def add_alias(
        self, address: str, targets: Sequence[str], *, send_as: Sequence[str] = ()
    ) -> Alias:
        """An alias forwarding to `targets`: local addresses that exist (account, extra
        address or alias) or addresses in other domains. `send_as` are accounts that may
        use the alias as their sender. Refuses an alias that would forward to itself."""
        alias = normalize_address(address)
        if isinstance(targets, str):
            raise InvalidValue("targets must be a list of addresses, not one string")
        wanted = sorted({normalize_address(target) for target in targets})
        if not wanted:
            raise InvalidValue(f"the alias {alias} needs at least one target")
        senders = sorted({normalize_address(account) for account in send_as})
        async with self._writing() as connection:
            domain_id = await local_domain_id(connection, alias)
            await refuse_taken(connection, alias)
            if alias in wanted:
                raise AliasLoop(f"the alias {alias} cannot forward to itself")
            local = await local_domains_among(
                connection, {split_address(target)[1] for target in wanted}
            )
            local_targets = [target for target in wanted if split_address(target)[1] in local]
            missing = sorted(
                set(local_targets) - await existing_addresses(connection, local_targets)
            )
            if missing:
                raise NotFound(
                    f"{', '.join(missing)}: no such local address; create it first"
                    if len(missing) == 1
                    else f"{', '.join(missing)}: no such local addresses; create them first"
                )
            await self._refuse_loop(connection, alias, local_targets)
            sender_ids = []
            for sender in senders:
                sender_id = await account_id_of(connection, sender)
                if sender_id is None:
                    raise NotFound(f"{sender} is not an account; only accounts may send as {alias}")
                sender_ids.append(sender_id)
            inserted = await connection.execute(
                insert(aliases).values(address=alias, domain_id=domain_id)
            )
            assert inserted.inserted_primary_key is not None  # a single-row insert has one
            alias_id = int(inserted.inserted_primary_key[0])
            await connection.execute(
                insert(alias_targets), [{"alias_id": alias_id, "target": t} for t in wanted]
            )
            if sender_ids:
                await connection.execute(
                    insert(send_as_grants),
                    [{"alias_id": alias_id, "account_id": sender_id} for sender_id in sender_ids],
                )
        return Alias(address=alias, targets=tuple(wanted), send_as=tuple(senders))

    @staticmethod
    async def _refuse_loop(
        connection: AsyncConnection, alias: str, local_targets: Sequence[str]
    ) -> None:
        """AliasLoop if following aliases from `local_targets` comes back to `alias`.

        Existing aliases cannot loop among themselves (each addition was checked), but one
        may already forward to `alias`: its target was external when it was made, and the
        domain became local later."""
        came_from = dict.fromkeys(local_targets, alias)
        frontier = set(local_targets)
        while frontier:
            following: set[str] = set()
            for chunk in in_chunks(frontier):
                rows = await connection.execute(
                    select(aliases.c.address, alias_targets.c.target)
                    .join(alias_targets, alias_targets.c.alias_id == aliases.c.id)
                    .where(aliases.c.address.in_(chunk))
                )
                for row in rows:
                    if row.target == alias:
                        path = [row.address]
                        while path[-1] != alias:
                            path.append(came_from[path[-1]])
                        chain = " -> ".join([*reversed(path), alias])
                        raise AliasLoop(f"the alias {alias} would loop: {chain}")
                    if row.target not in came_from:
                        came_from[row.target] = row.address
                        following.add(row.target)
            frontier = following

    async def get_alias(self, address: str) -> Alias:
        alias = normalize_address(address)
        async with self._reading() as connection:
            return await load_alias(connection, await require_alias(connection, alias))

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        """All aliases, or those in `domain` (UnknownDomain if it is not local)."""
        alias_query = select(aliases.c.id, aliases.c.address)
        targets_query = select(alias_targets.c.alias_id, alias_targets.c.target)
        grants_query = select(send_as_grants.c.alias_id, accounts.c.address).join(
            accounts, accounts.c.id == send_as_grants.c.account_id
        )
        async with self._reading() as connection:
            if domain is not None:
                name = normalize_domain(domain)
                domain_id = await domain_id_of(connection, name)
                if domain_id is None:
                    raise UnknownDomain(name)
                alias_query = alias_query.where(aliases.c.domain_id == domain_id)
                targets_query = targets_query.join(
                    aliases, aliases.c.id == alias_targets.c.alias_id
                ).where(aliases.c.domain_id == domain_id)
                grants_query = grants_query.join(
                    aliases, aliases.c.id == send_as_grants.c.alias_id
                ).where(aliases.c.domain_id == domain_id)
            targets: dict[int, list[str]] = {}
            for row in await connection.execute(targets_query):
                targets.setdefault(row.alias_id, []).append(row.target)
            grants: dict[int, list[str]] = {}
            for row in await connection.execute(grants_query):
                grants.setdefault(row.alias_id, []).append(row.address)
            rows = await connection.execute(alias_query)
            return sorted(
                (
                    Alias(
                        address=row.address,
                        targets=tuple(sorted(targets.get(row.id, []))),
                        send_as=tuple(sorted(grants.get(row.id, []))),
                    )
                    for row in rows
                ),
                key=lambda alias: alias.address,
            )

    async def remove_alias(self, address: str) -> None:
        """Remove the alias and its send-as grants. Refuses (InUse) while other aliases
        forward to it."""
        alias = normalize_address(address)
        async with self._writing() as connection:
            alias_id = await require_alias(connection, alias)
            await refuse_while_targeted(connection, [alias], alias)
            await connection.execute(
                delete(alias_targets).where(alias_targets.c.alias_id == alias_id)
            )
            await connection.execute(
                delete(send_as_grants).where(send_as_grants.c.alias_id == alias_id)
            )
            await connection.execute(delete(aliases).where(aliases.c.id == alias_id))

    async def grant_send_as(self, alias: str, account: str) -> Alias:
        """Let `account` use `alias` as its sender address. AlreadyExists if it may already."""
        alias_address = normalize_address(alias)
        account_address = normalize_address(account)
        async with self._writing() as connection:
            alias_id = await require_alias(connection, alias_address)
            account_id = await require_account(connection, account_address)
            granted = await connection.scalar(
                select(func.count())
                .select_from(send_as_grants)
                .where(send_as_grants.c.alias_id == alias_id)
                .where(send_as_grants.c.account_id == account_id)
            )
            if granted:
                raise AlreadyExists(f"{account_address} may already send as {alias_address}")
            await connection.execute(
                insert(send_as_grants).values(alias_id=alias_id, account_id=account_id)
            )
            return await load_alias(connection, alias_id)

    async def revoke_send_as(self, alias: str, account: str) -> Alias:
        alias_address = normalize_address(alias)
        account_address = normalize_address(account)
        async with self._writing() as connection:
            alias_id = await require_alias(connection, alias_address)
            account_id = await require_account(connection, account_address)
            result = await connection.execute(
                delete(send_as_grants)
                .where(send_as_grants.c.alias_id == alias_id)
                .where(send_as_grants.c.account_id == account_id)
            )
            if result.rowcount == 0:
                raise NotFound(f"{account_address} has no grant to send as {alias_address}")
            return await load_alias(connection, alias_id)

    async def may_send_as(self, account: str, address: str) -> bool:
        """Whether `account` (a primary address) may use `address` as its sender: its own
        primary or extra address, or an alias it holds a send-as grant for. False for
        anything that is not even a valid address."""
        try:
            login = normalize_address(account)
            sender = normalize_address(address)
        except InvalidAddress:
            return False
        async with self._reading() as connection:
            account_id = await account_id_of(connection, login)
            if account_id is None:
                return False
            if sender == login:
                return True
            owned = await connection.scalar(
                select(func.count())
                .select_from(extra_addresses)
                .where(extra_addresses.c.address == sender)
                .where(extra_addresses.c.account_id == account_id)
            )
            if owned:
                return True
            granted = await connection.scalar(
                select(func.count())
                .select_from(send_as_grants)
                .join(aliases, aliases.c.id == send_as_grants.c.alias_id)
                .where(aliases.c.address == sender)
                .where(send_as_grants.c.account_id == account_id)
            )
            return bool(granted)
