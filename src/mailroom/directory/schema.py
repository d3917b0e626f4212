"""The directory's tables, as SQLAlchemy Core metadata: the one description of the schema
that the service queries and that Alembic's migrations must reproduce.

Only the directory's operations and the migrations use these tables; everything else sees the
plain records of `directory.records`. The schema is portable across SQLite, MariaDB/MySQL
and PostgreSQL:
- constraint names come from one naming convention, so a later migration can name the
  constraint it alters on every backend;
- addresses are VARCHAR(255): 1020 bytes in utf8mb4, inside InnoDB's 3072-byte index limit;
- MySQL tables use the `utf8mb4_bin` collation, because the default collations compare
  case- and accent-insensitively and would call `josé@x` and `jose@x` the same address
  (we store addresses lower-case already, so binary comparison is what we mean);
- times are stored in UTC and always come back timezone-aware (`UtcDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

ADDRESS_LENGTH = 255
DOMAIN_LENGTH = 253
DISPLAY_NAME_LENGTH = 255
PASSWORD_HASH_LENGTH = 512
NEXTHOP_LENGTH = 300

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Applied to every table; ignored by SQLite and PostgreSQL.
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always handed back as an aware UTC datetime.

    PostgreSQL keeps `timestamptz`; SQLite and MySQL have no zone in their type, so the
    value is stored as naive UTC and the zone is put back on reading. MySQL gets
    microseconds (`DATETIME(6)`) so a record reads back exactly as it was written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


domains = Table(
    "domains",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(DOMAIN_LENGTH), nullable=False, unique=True),
    Column("created", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(ADDRESS_LENGTH), nullable=False, unique=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False, index=True),
    Column("display_name", String(DISPLAY_NAME_LENGTH), nullable=False),
    Column("password_hash", String(PASSWORD_HASH_LENGTH), nullable=False),
    Column("quota_bytes", BigInteger, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# Other addresses delivered to an account (the legacy `fullnamealias`). The domain is
# kept too, so that a domain cannot be dropped from under them.
extra_addresses = Table(
    "extra_addresses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(ADDRESS_LENGTH), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False, index=True),
    **MYSQL_TABLE_OPTIONS,
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(ADDRESS_LENGTH), nullable=False, unique=True),
    Column("domain_id", Integer, ForeignKey("domains.id"), nullable=False, index=True),
    **MYSQL_TABLE_OPTIONS,
)

# A target is a plain address, local or external, not a foreign key: external targets
# have no row to point at. The service keeps local targets pointing at something real.
alias_targets = Table(
    "alias_targets",
    metadata,
    Column("alias_id", Integer, ForeignKey("aliases.id"), nullable=False),
    Column("target", String(ADDRESS_LENGTH), nullable=False, index=True),
    PrimaryKeyConstraint("alias_id", "target"),
    **MYSQL_TABLE_OPTIONS,
)

send_as_grants = Table(
    "send_as_grants",
    metadata,
    Column("alias_id", Integer, ForeignKey("aliases.id"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    PrimaryKeyConstraint("alias_id", "account_id"),
    **MYSQL_TABLE_OPTIONS,
)

# Where mail for another domain goes instead of its MX (Postfix's transport map).
transports = Table(
    "transports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain", String(DOMAIN_LENGTH), nullable=False, unique=True),
    Column("nexthop", String(NEXTHOP_LENGTH), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# One row, bumped in the same transaction as every write. Caches compare it to know when
# to reload; the service also takes its row lock first in every write, which puts all
# writers in one line so that "check, then write" cannot race another writer.
directory_version = Table(
    "directory_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
    **MYSQL_TABLE_OPTIONS,
)

# Passwords a member makes for one mail client each (self-service): any of them logs in
# to IMAP, POP3, submission and ManageSieve in place of the account's password, and each
# can be revoked alone. Only the argon2id hash is kept.
app_passwords = Table(
    "app_passwords",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("password_hash", String(PASSWORD_HASH_LENGTH), nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("last_used", UtcDateTime, nullable=True),
    **MYSQL_TABLE_OPTIONS,
)

# Client certificates a member has registered as their own (self-service). An account
# with any registered certificate logs in by certificate only with one of them (pinned by
# the SHA-256 of the DER certificate); one without logs in with any certificate of the
# configured CAs that names it, as before.
account_certificates = Table(
    "account_certificates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("subject", String(1000), nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("added", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# The TOTP secret (RFC 6238) of an account that logs in to the web admin with a password;
# `confirmed` once a code from the authenticator app has been accepted.
totp_secrets = Table(
    "totp_secrets",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# Every change made through the web admin or self-service: who, from where, what.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(ADDRESS_LENGTH), nullable=False),
    Column("source", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(ADDRESS_LENGTH), nullable=False),
    Column("detail", String(1000), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
