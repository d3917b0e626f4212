"""The legacy host in miniature for the import's tests: a MariaDB database with the
`cacertusers` schema and rows, an /etc/aliases file, a Postfix directory with the three
map files, and a Maildir for one member. Each test gets its own database, dropped after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncmy
import pytest

from tests.support.databases import MYSQL_SERVER, make_database

# From the legacy host's documentation: a valid hash of the password "secret".
SECRET_HASH = "$1$caea3837$gPafod/Do/8Jj5M9HehhM."

SCHEMA = [
    "CREATE TABLE user (username VARCHAR(50) NOT NULL PRIMARY KEY,"
    " fullnamealias VARCHAR(100) NOT NULL DEFAULT '', realname VARCHAR(100) NOT NULL DEFAULT '',"
    " password VARCHAR(100) NOT NULL DEFAULT '')",
    "CREATE TABLE aliases (email VARCHAR(100) NOT NULL, destination VARCHAR(255) NOT NULL)",
]
ROWS = [
    ("INSERT INTO user VALUES (%s, %s, %s, %s)", ("jdoe", "john.doe", "John Doe", SECRET_HASH)),
    ("INSERT INTO user VALUES (%s, %s, %s, %s)", ("asmith", "", "Anna Smith", SECRET_HASH)),
    ("INSERT INTO aliases VALUES (%s, %s)", ("pr@cacert.org", "jdoe")),
]

ETC_ALIASES = """\
# receive-only aliases of the legacy host
postmaster: root
root: jdoe
board: jdoe, asmith
support: support@issue.cacert.org
backup: |/usr/local/bin/backup
"""
ARBITRATION = "/^deleted-.*@cacert\\.org$/ board@cacert.org\n"
BCC = "pr@cacert.org asmith@cacert.org\n"
TRANSPORT = """\
lists.cacert.org   smtp:[127.0.0.1]:1
issue.cacert.org   smtp:[127.0.0.1]:2
old.cacert.org     error:mailbox gone
"""


@dataclass(frozen=True)
class LegacyHost:
    mysql_url: str
    aliases: Path
    postfix_dir: Path
    maildirs: str
    """The Maildir template, like the legacy /home/%n/Maildir."""

    def import_args(self, *extra: str) -> list[str]:
        return [
            "import",
            "legacy",
            "--mysql",
            self.mysql_url,
            "--aliases",
            str(self.aliases),
            "--postfix-dir",
            str(self.postfix_dir),
            "--maildirs",
            self.maildirs,
            "--domain",
            "cacert.org",
            *extra,
        ]


async def _fill(url: str) -> None:
    database = url.rsplit("/", 1)[1]
    parts = MYSQL_SERVER.split("://", 1)[1]
    user, _, address = parts.rpartition("@")
    host, _, port = address.partition(":")
    connection = await asyncmy.connect(
        host=host, port=int(port or 3306), user=user or "root", password="", database=database
    )
    try:
        async with connection.cursor() as cursor:
            for statement in SCHEMA:
                await cursor.execute(statement)
            for statement, values in ROWS:
                await cursor.execute(statement, values)
        await connection.commit()
    finally:
        connection.close()


@pytest.fixture
def legacy_host(tmp_path: Path) -> Iterator[LegacyHost]:
    for url in make_database("mariadb", tmp_path):
        asyncio.run(_fill(url))
        legacy = tmp_path / "legacy"
        postfix = legacy / "postfix"
        postfix.mkdir(parents=True)
        (legacy / "aliases").write_text(ETC_ALIASES)
        (postfix / "arbitration").write_text(ARBITRATION)
        (postfix / "cacert-inc-bcc").write_text(BCC)
        (postfix / "transport").write_text(TRANSPORT)
        for user in ("jdoe", "asmith"):
            for sub in ("cur", "new", "tmp"):
                (legacy / "home" / user / "Maildir" / sub).mkdir(parents=True)
        yield LegacyHost(url, legacy / "aliases", postfix, str(legacy / "home" / "%n" / "Maildir"))
