"""The directory service: domains, accounts, extra addresses, aliases, send-as grants and
transports in SQL (SQLite, MariaDB/MySQL, PostgreSQL) through SQLAlchemy 2's asyncio API.

Everything above this room (auth, routing, smtp, web, cli) asks it questions and hands it
changes; it answers with the frozen records of `directory.records` and refuses with the
errors of `directory.errors`. It imports no protocol and reads no configuration file: it
is given a `DirectoryConfig`.

`Directory` is the operations of `domains`, `accounts`, `aliases` and `transports` on
one engine (`transactions`, which also says how a change is made so that a refusal
changes nothing and two writers cannot race). Queries are Core statements with explicit
selects: no ORM, so no lazy load can happen in async code.
"""

from __future__ import annotations

from mailroom.directory.accounts import AccountOperations
from mailroom.directory.aliases import AliasOperations
from mailroom.directory.app_passwords import AppPasswordOperations
from mailroom.directory.audit import AuditOperations
from mailroom.directory.bulk import BulkOperations
from mailroom.directory.certificates import CertificateOperations
from mailroom.directory.domains import DomainOperations
from mailroom.directory.totp import TotpOperations
from mailroom.directory.transports import TransportOperations


class Directory(
    DomainOperations,
    AccountOperations,
    AliasOperations,
    TransportOperations,
    BulkOperations,
    AppPasswordOperations,
    CertificateOperations,
    TotpOperations,
    AuditOperations,
):
    """One database of domains, accounts, aliases and transports, shared by the whole
    process (and by other nodes using the same server). Safe to use from many tasks.
    Open it with `Directory.connect`."""
