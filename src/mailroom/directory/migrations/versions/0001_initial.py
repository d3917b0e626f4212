"""The directory's first schema: domains, accounts, extra addresses, aliases with their
targets and send-as grants, transports, and the version counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _utc_datetime() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("created", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_domains_name")),
        **MYSQL,
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("address", name=op.f("uq_accounts_address")),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_accounts_domain_id_domains")
        ),
        **MYSQL,
    )
    op.create_index(op.f("ix_accounts_domain_id"), "accounts", ["domain_id"])
    op.create_table(
        "extra_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extra_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_extra_addresses_address")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_extra_addresses_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_extra_addresses_domain_id_domains")
        ),
        **MYSQL,
    )
    op.create_index(op.f("ix_extra_addresses_account_id"), "extra_addresses", ["account_id"])
    op.create_index(op.f("ix_extra_addresses_domain_id"), "extra_addresses", ["domain_id"])
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aliases")),
        sa.UniqueConstraint("address", name=op.f("uq_aliases_address")),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_aliases_domain_id_domains")
        ),
        **MYSQL,
    )
    op.create_index(op.f("ix_aliases_domain_id"), "aliases", ["domain_id"])
    op.create_table(
        "alias_targets",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("alias_id", "target", name=op.f("pk_alias_targets")),
        sa.ForeignKeyConstraint(
            ["alias_id"], ["aliases.id"], name=op.f("fk_alias_targets_alias_id_aliases")
        ),
        **MYSQL,
    )
    op.create_index(op.f("ix_alias_targets_target"), "alias_targets", ["target"])
    op.create_table(
        "send_as_grants",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alias_id", "account_id", name=op.f("pk_send_as_grants")),
        sa.ForeignKeyConstraint(
            ["alias_id"], ["aliases.id"], name=op.f("fk_send_as_grants_alias_id_aliases")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_send_as_grants_account_id_accounts")
        ),
        **MYSQL,
    )
    op.create_index(op.f("ix_send_as_grants_account_id"), "send_as_grants", ["account_id"])
    op.create_table(
        "transports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("nexthop", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transports")),
        sa.UniqueConstraint("domain", name=op.f("uq_transports_domain")),
        **MYSQL,
    )
    version = op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_version")),
        sa.CheckConstraint("id = 1", name=op.f("ck_directory_version_single_row")),
        **MYSQL,
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    for table in (
        "directory_version",
        "transports",
        "send_as_grants",
        "alias_targets",
        "aliases",
        "extra_addresses",
        "accounts",
        "domains",
    ):
        op.drop_table(table)
