"""The directory service: domains, accounts, extra addresses, aliases, send-as grants and
transports in SQL (SQLite, MariaDB/MySQL, PostgreSQL) through SQLAlchemy 2's asyncio API.

INTERFACE STUB: the implementation is being written; signatures are the contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mailroom.config import DirectoryConfig
from mailroom.directory.records import Account, Alias, Domain, Transport


class Directory:
    @classmethod
    async def connect(cls, config: DirectoryConfig, base_dir: Path | None = None) -> Directory:
        """Open the database named by `config.url` (relative SQLite paths against `base_dir`).
        Does not create tables: call `migrate()`. Raises DatabaseUnavailable."""
        raise NotImplementedError

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision (idempotent)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def version(self) -> int:
        """A counter bumped by every change, so caches elsewhere know when to reload."""
        raise NotImplementedError

    # domains
    async def add_domain(self, name: str) -> Domain:
        raise NotImplementedError

    async def list_domains(self) -> list[Domain]:
        raise NotImplementedError

    async def remove_domain(self, name: str) -> None:
        raise NotImplementedError

    async def is_local_domain(self, name: str) -> bool:
        raise NotImplementedError

    # accounts
    async def add_account(self, address: str, password_hash: str, *, display_name: str = "",
                          quota_bytes: int | None = None, enabled: bool = True) -> Account:
        raise NotImplementedError

    async def get_account(self, address: str) -> Account:
        raise NotImplementedError

    async def find_account(self, address: str) -> Account | None:
        raise NotImplementedError

    async def list_accounts(self, domain: str | None = None) -> list[Account]:
        raise NotImplementedError

    async def set_password_hash(self, address: str, password_hash: str, *,
                                expected_old: str | None = None) -> bool:
        raise NotImplementedError

    async def set_enabled(self, address: str, enabled: bool) -> Account:
        raise NotImplementedError

    async def update_account(self, address: str, *, display_name: str | None = None,
                             quota_bytes: int | None = None, clear_quota: bool = False) -> Account:
        raise NotImplementedError

    async def remove_account(self, address: str) -> None:
        raise NotImplementedError

    # extra addresses
    async def add_address(self, account: str, address: str) -> Account:
        raise NotImplementedError

    async def remove_address(self, address: str) -> Account:
        raise NotImplementedError

    # aliases
    async def add_alias(self, address: str, targets: Sequence[str], *,
                        send_as: Sequence[str] = ()) -> Alias:
        raise NotImplementedError

    async def get_alias(self, address: str) -> Alias:
        raise NotImplementedError

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        raise NotImplementedError

    async def remove_alias(self, address: str) -> None:
        raise NotImplementedError

    async def grant_send_as(self, alias: str, account: str) -> Alias:
        raise NotImplementedError

    async def revoke_send_as(self, alias: str, account: str) -> Alias:
        raise NotImplementedError

    async def may_send_as(self, account: str, address: str) -> bool:
        raise NotImplementedError

    # transports
    async def set_transport(self, domain: str, nexthop: str) -> Transport:
        raise NotImplementedError

    async def list_transports(self) -> list[Transport]:
        raise NotImplementedError

    async def remove_transport(self, domain: str) -> None:
        raise NotImplementedError
