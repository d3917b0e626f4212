"""The directory's local domains: the domains whose mail this host keeps. Accounts,
extra addresses and aliases live in them; a domain goes only once it holds none."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select

from mailroom.directory.addresses import normalize_domain
from mailroom.directory.errors import AlreadyExists, InUse, InvalidAddress, NotFound
from mailroom.directory.lookups import domain_id_of
from mailroom.directory.records import Domain
from mailroom.directory.schema import accounts, aliases, domains, extra_addresses
from mailroom.directory.transactions import Transactions


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


class DomainOperations(Transactions):
    async def add_domain(self, name: str) -> Domain:
        domain = normalize_domain(name)
        created = datetime.now(UTC)
        async with self._writing() as connection:
            if await domain_id_of(connection, domain) is not None:
                raise AlreadyExists(f"{domain} is already a local domain")
            await connection.execute(insert(domains).values(name=domain, created=created))
        return Domain(name=domain, created=created)

    async def list_domains(self) -> list[Domain]:
        async with self._reading() as connection:
            rows = await connection.execute(select(domains.c.name, domains.c.created))
            return sorted(
                (Domain(name=row.name, created=row.created) for row in rows),
                key=lambda domain: domain.name,
            )

    async def remove_domain(self, name: str) -> None:
        """Refuses (InUse) while accounts, extra addresses or aliases in the domain exist."""
        domain = normalize_domain(name)
        async with self._writing() as connection:
            domain_id = await domain_id_of(connection, domain)
            if domain_id is None:
                raise NotFound(f"{domain} is not a local domain")
            counts = [
                await connection.scalar(
                    select(func.count()).select_from(table).where(table.c.domain_id == domain_id)
                )
                or 0
                for table in (accounts, extra_addresses, aliases)
            ]
            if any(counts):
                held = [
                    _counted(count, singular, plural)
                    for count, singular, plural in zip(
                        counts,
                        ("account", "extra address", "alias"),
                        ("accounts", "extra addresses", "aliases"),
                        strict=True,
                    )
                    if count
                ]
                raise InUse(f"{domain} still has {', '.join(held)}; remove them first")
            await connection.execute(delete(domains).where(domains.c.id == domain_id))

    async def is_local_domain(self, name: str) -> bool:
        """False for a name that is not even a valid domain."""
        try:
            domain = normalize_domain(name)
        except InvalidAddress:
            return False
        async with self._reading() as connection:
            return await domain_id_of(connection, domain) is not None
