"""Make a synthetic legacy host for bench/legacy_import.py: what `mailroom import legacy`
reads, at any scale, in a scratch directory and one MariaDB database.

- MariaDB (127.0.0.1 only): a database with the legacy `cacertusers` schema; one `user`
  row per account (`u00000`, `u00001`, …, and `big`), each with a `fullnamealias`
  (`first.u00000`) and the legacy `$1$` hash of "secret"; an `aliases` row (send-as)
  for every 100th account;
- ROOT/etc/aliases (receive-only aliases), ROOT/postfix/transport;
- ROOT/home/USER/Maildir for every account: INBOX, .Sent and .Archive (60/30/10 % of the
  account's messages), each with a version 3 `dovecot-uidlist` numbering every file,
  `dovecot-keywords` and `subscriptions`; file names as the legacy Dovecot wrote them
  (`,S=` but no `,W=`, and no W in the uidlist: the first SELECT reads each file for
  its RFC822.SIZE), LF line ends; half of INBOX unread in new/ (mtimes are left as
  written: one syscall less per file, and the import does not care);
- `big`'s INBOX holds `big_folder` messages, all in cur/ (an archive read long ago), so
  that its first SELECT can be timed again and again without moving a file;
- every 10th account has a pysieved script in ~/.pysieved, active.

Usable alone: `python bench/legacy_host_fill.py ROOT --accounts 100 --messages 10000`
prints the import command to run; `--drop DATABASE` drops a database it made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

import asyncmy

SECRET_HASH = "$1$caea3837$gPafod/Do/8Jj5M9HehhM."  # noqa: S105 - documented example
"""The legacy documentation's example: the `$1$` hash of "secret"."""
DOMAIN = "cacert.org"
UIDVALIDITY = 1_600_000_000
START = 1_700_000_000
BIG = "big"
SCHEMA = (
    "CREATE TABLE user (username VARCHAR(50) NOT NULL PRIMARY KEY,"
    " fullnamealias VARCHAR(100) NOT NULL DEFAULT '', realname VARCHAR(100) NOT NULL DEFAULT '',"
    " password VARCHAR(100) NOT NULL DEFAULT '')",
    "CREATE TABLE aliases (email VARCHAR(100) NOT NULL, destination VARCHAR(255) NOT NULL)",
)
SIEVE = b'require "fileinto";\nif header :contains "subject" "[list]" { fileinto "Archive"; }\n'
BODY = (
    "Return-Path: <sender{n}@example.net>\n"
    "Received: from mx.example.net by email.cacert.org; Mon, 4 Dec 2023 10:00:00 +0000\n"
    "From: Sender {n} <sender{n}@example.net>\n"
    "To: {user}@cacert.org\n"
    "Subject: message {n} for {user}\n"
    "Date: Mon, 4 Dec 2023 10:00:00 +0000\n"
    "Message-ID: <{n}.{user}@example.net>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Hello {user},\n\nthis is message {n}. "
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
)


@dataclass(frozen=True)
class LegacyHost:
    root: Path
    mysql_url: str
    database: str
    accounts: int
    messages: int

    @property
    def maildirs(self) -> str:
        return str(self.root / "home" / "%n" / "Maildir")

    def import_args(self) -> list[str]:
        return [
            "import",
            "legacy",
            "--mysql",
            self.mysql_url,
            "--aliases",
            str(self.root / "etc" / "aliases"),
            "--postfix-dir",
            str(self.root / "postfix"),
            "--maildirs",
            self.maildirs,
            "--domain",
            DOMAIN,
        ]


def user_names(accounts: int) -> list[str]:
    return [f"u{index:05d}" for index in range(accounts - 1)] + [BIG]


def _write_folder(folder: Path, user: str, count: int, first_n: int, unread: int) -> None:
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    lines = [f"3 V{UIDVALIDITY} N{count + 1} G{os.urandom(16).hex()}"]
    for index in range(count):
        n = first_n + index
        data = BODY.format(n=n, user=user).encode()
        stamp = START + n * 31 % 31_536_000
        base = f"{stamp}.M{n % 1_000_000}P{os.getpid()}Q{n}.email,S={len(data)}"
        in_new = index >= count - unread
        name = f"new/{base}" if in_new else f"cur/{base}:2,S"
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        lines.append(f"{index + 1} :{base}")
    (folder / "dovecot-uidlist").write_text("\n".join(lines) + "\n")


def write_maildir(home: Path, user: str, count: int, *, archive_only: bool = False) -> None:
    maildir = home / "Maildir"
    if archive_only:
        _write_folder(maildir, user, count, 0, 0)
        parts = {".Sent": 0, ".Archive": 0}
    else:
        inbox = count * 6 // 10
        sent = count * 3 // 10
        _write_folder(maildir, user, inbox, 0, inbox // 2)
        parts = {".Sent": sent, ".Archive": count - inbox - sent}
    first = count
    for name, part in parts.items():
        _write_folder(maildir / name, user, part, first, 0)
        (maildir / name / "maildirfolder").touch()
        first += part
    (maildir / "dovecot-keywords").write_text("0 $Forwarded\n1 $Junk\n")
    (maildir / "subscriptions").write_text("Sent\nArchive\n")


def write_files(root: Path, accounts: int) -> None:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "postfix").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "aliases").write_text(
        "postmaster: root\nroot: u00000\nboard: u00000, u00001\nsupport: support@issue.cacert.org\n"
    )
    (root / "postfix" / "transport").write_text(
        "lists.cacert.org smtp:[127.0.0.1]:1\nissue.cacert.org smtp:[127.0.0.1]:2\n"
    )


async def fill_database(server: str, database: str, accounts: int) -> None:
    """The legacy schema and rows in a new `database` on `server` (mysql://root@HOST:PORT)."""
    address = server.split("://", 1)[1].rpartition("@")[2]
    host, _, port = address.partition(":")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"{server}: the bench only uses a database on this machine")
    connection = await asyncmy.connect(host=host, port=int(port or 3306), user="root")
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            await cursor.execute(f"USE `{database}`")
            for statement in SCHEMA:
                await cursor.execute(statement)
            users = user_names(accounts)
            await cursor.executemany(
                "INSERT INTO user VALUES (%s, %s, %s, %s)",
                [(u, f"first.{u}", f"Member {u}", SECRET_HASH) for u in users],
            )
            await cursor.executemany(
                "INSERT INTO aliases VALUES (%s, %s)",
                [(f"team{i}@{DOMAIN}", u) for i, u in enumerate(users) if i % 100 == 0],
            )
        await connection.commit()
    finally:
        connection.close()


async def drop_database(server: str, database: str) -> None:
    address = server.split("://", 1)[1].rpartition("@")[2]
    host, _, port = address.partition(":")
    connection = await asyncmy.connect(host=host, port=int(port or 3306), user="root")
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        connection.close()


def fill_host(
    root: Path, accounts: int, messages: int, big_folder: int, server: str, database: str
) -> LegacyHost:
    """The whole synthetic host (module docstring); `messages` counts `big`'s too."""
    if accounts < 2 or big_folder > messages:
        raise SystemExit("need at least 2 accounts, and big_folder <= messages")
    asyncio.run(fill_database(server, database, accounts))
    write_files(root, accounts)
    others = user_names(accounts)[:-1]
    each, extra = divmod(messages - big_folder, len(others))
    for index, user in enumerate(others):
        home = root / "home" / user
        write_maildir(home, user, each + (1 if index < extra else 0))
        if index % 10 == 0:
            (home / ".pysieved").mkdir()
            (home / ".pysieved" / "filter").write_bytes(SIEVE)
            (home / ".dovecot.sieve").symlink_to(".pysieved/filter")
    write_maildir(root / "home" / BIG, BIG, big_folder, archive_only=True)
    url = f"{server.rstrip('/')}/{database}"
    return LegacyHost(root, url, database, accounts, messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, nargs="?", help="the scratch directory to fill")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--big-folder", type=int, default=1_000)
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306")
    parser.add_argument("--database", default=f"mailroom_bench_legacy_{os.getpid()}")
    parser.add_argument("--drop", metavar="DATABASE", help="drop this database and stop")
    args = parser.parse_args()
    if args.drop:
        asyncio.run(drop_database(args.mysql, args.drop))
        return
    if args.root is None:
        parser.error("give the scratch directory to fill")
    started = time.perf_counter()
    host = fill_host(
        args.root, args.accounts, args.messages, args.big_folder, args.mysql, args.database
    )
    print(f"filled in {time.perf_counter() - started:.1f} s; import it with:")
    print("  mailroom " + " ".join(host.import_args()))


if __name__ == "__main__":
    main()
