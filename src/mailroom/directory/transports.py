"""Transports: mail for a domain (local or not) sent to a fixed next hop instead of the
domain's MX hosts, as Postfix's transport map does. The next hop is stored normalised
(`directory.nexthop`), so everything that reads it sees one notation."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from mailroom.directory.addresses import normalize_domain
from mailroom.directory.errors import NotFound
from mailroom.directory.nexthop import normalize_nexthop
from mailroom.directory.records import Transport
from mailroom.directory.schema import transports
from mailroom.directory.transactions import Transactions


class TransportOperations(Transactions):
    async def set_transport(self, domain: str, nexthop: str) -> Transport:
        """Send mail for `domain` (local or not) to `nexthop` instead of its MX; replaces
        any transport the domain had."""
        name = normalize_domain(domain)
        hop = normalize_nexthop(nexthop)
        async with self._writing() as connection:
            existing = await connection.scalar(
                select(transports.c.id).where(transports.c.domain == name)
            )
            if existing is None:
                await connection.execute(insert(transports).values(domain=name, nexthop=hop))
            else:
                await connection.execute(
                    update(transports).where(transports.c.id == existing).values(nexthop=hop)
                )
        return Transport(domain=name, nexthop=hop)

    async def list_transports(self) -> list[Transport]:
        async with self._reading() as connection:
            rows = await connection.execute(select(transports.c.domain, transports.c.nexthop))
            return sorted(
                (Transport(domain=row.domain, nexthop=row.nexthop) for row in rows),
                key=lambda transport: transport.domain,
            )

    async def remove_transport(self, domain: str) -> None:
        name = normalize_domain(domain)
        async with self._writing() as connection:
            result = await connection.execute(delete(transports).where(transports.c.domain == name))
            if result.rowcount == 0:
                raise NotFound(f"no transport for {name}")
