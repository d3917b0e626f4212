"""One round of the IMAP benchmark, and what it runs on: the target, the load, the run's
folders and their fill (by APPEND, or by writing files into the target's Maildir).

A round is every timed command once, on a new connection after LOGIN, each timed from
the moment it is sent to its tagged reply (all untagged data read); what the round
changes is undone after it, untimed, so every round starts from the same mailbox (same
messages, order, flags; only the UIDs of the last K grow).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import imap_memory  # the bench directory is not a package: imported by path
import imap_messages
from imap_client import (
    ImapConnection,
    ImapError,
    Reply,
    compact_sets,
    describe,
    quote,
    search_numbers,
)
from mailbox_fill import (
    SETUP_TIMEOUT_S,
    append_messages,
    check_filled,
    logged_in,
    message_count,
    must,
)


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    user: str
    password: str
    pid: int | None = None
    pidfile: Path | None = None
    maildir: Path | None = None  # the fill user's Maildir, for --fill maildir

    def server_pid(self) -> int | None:
        if self.pid is not None:
            return self.pid
        if self.pidfile is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                return imap_memory.read_pid_file(self.pidfile)
        return None

    def __str__(self) -> str:
        return f"{self.name} {self.host}:{self.port} as {self.user}"


@dataclass(frozen=True)
class Load:
    messages: int
    rounds: int
    warmup_rounds: int
    body_range: int
    batch: int
    fill: str
    seed: int
    idle_connections: int
    idle_users: tuple[str, ...]
    idle_password: str
    idle_mailbox: str
    idle_timeout_s: float
    command_timeout_s: float


@dataclass(frozen=True)
class Operation:
    key: str
    label: str


OPERATIONS = (
    Operation("select", "SELECT"),
    Operation("fetch_flags", "FETCH 1:* (FLAGS)"),
    Operation("fetch_sync", "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)"),
    Operation("fetch_bodies", "FETCH 1:B BODY.PEEK[]"),
    Operation("search_from", "UID SEARCH FROM (header)"),
    Operation("search_subject", "UID SEARCH SUBJECT (header)"),
    Operation("search_body", "UID SEARCH BODY (text)"),
    Operation("store_add", "STORE 1:* +FLAGS (\\Seen)"),
    Operation("store_remove", "STORE 1:* -FLAGS (\\Seen)"),
    Operation("copy", "COPY 1:K"),
    Operation("move", "MOVE last K"),
    Operation("expunge", "EXPUNGE K \\Deleted"),
)


@dataclass
class RoundResult:
    target: str
    round: int
    ms: dict[str, float | None] = field(default_factory=dict)
    client_cpu_ms: dict[str, float] = field(default_factory=dict)
    received_bytes: dict[str, int] = field(default_factory=dict)
    search_hits: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Folders:
    """The folders of one run on one target; all are deleted at the end."""

    main: str
    copy: str
    moved: str
    stash: str

    @classmethod
    def for_run(cls, run_id: str) -> Folders:
        base = f"imapbench-{run_id}"
        return cls(base, f"{base}-copy", f"{base}-moved", f"{base}-stash")

    def all(self) -> list[str]:
        return [self.main, self.copy, self.moved, self.stash]


# --------------------------------------------------------------------------- sessions


async def connect(target: Target, load: Load) -> ImapConnection:
    return await logged_in(
        target.host, target.port, target.user, target.password, load.command_timeout_s
    )


async def delete_folders(conn: ImapConnection, names: list[str]) -> None:
    with contextlib.suppress(ImapError):
        await conn.command("UNSELECT" if "UNSELECT" in conn.capabilities else "CLOSE")
    for name in names:
        await conn.command(f"DELETE {quote(name)}", wait_s=SETUP_TIMEOUT_S)


# --------------------------------------------------------------------------- fill


async def fill(
    target: Target,
    load: Load,
    folders: Folders,
    messages: list[imap_messages.BenchMessage],
) -> float:
    """Create the run's folders and put the corpus into the main one; returns seconds."""
    started = time.perf_counter()
    conn = await connect(target, load)
    try:
        await delete_folders(conn, folders.all())  # a previous run's leftovers of the same id
        if load.fill == "maildir":
            assert target.maildir is not None
            owner_of = target.maildir if target.maildir.exists() else target.maildir.parent
            while not owner_of.exists() and owner_of != owner_of.parent:
                owner_of = owner_of.parent
            stat = owner_of.stat()
            folder_dir = target.maildir / f".{folders.main}"
            await asyncio.to_thread(
                imap_messages.write_maildir, folder_dir, messages, (stat.st_uid, stat.st_gid)
            )
        else:
            await must(conn, f"CREATE {quote(folders.main)}")
            await append_messages(conn, folders.main, messages, progress=True)
        for name in (folders.copy, folders.moved, folders.stash):
            await must(conn, f"CREATE {quote(name)}")
        await check_filled(conn, folders.main, len(messages))
        await conn.logout()
    except BaseException:
        conn.abort()
        raise
    return time.perf_counter() - started


# --------------------------------------------------------------------------- one round


async def run_round(target: Target, load: Load, folders: Folders, round_no: int) -> RoundResult:
    """Every timed command once, on a new connection; then the mailbox is put back."""
    result = RoundResult(target=target.name, round=round_no)
    try:
        conn = await connect(target, load)
    except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        result.errors.append(f"connect and LOGIN: {describe(exc)}")
        return result
    m = load.messages
    k = min(load.batch, m)
    last_k = f"{m - k + 1}:{m}"

    async def timed(key: str, command: str, *, keep: bool = False) -> Reply | None:
        cpu = time.process_time()
        started = time.perf_counter()
        try:
            reply = await conn.command(command, keep=keep)
        except TimeoutError:
            result.ms[key] = None
            result.errors.append(f"{key}: timeout after {load.command_timeout_s:.0f} s")
            raise
        elapsed = time.perf_counter() - started
        result.client_cpu_ms[key] = (time.process_time() - cpu) * 1000
        result.received_bytes[key] = reply.received_bytes
        if not reply.ok():
            result.ms[key] = None
            result.errors.append(f"{key}: {reply.status} {reply.text[:120]}")
            return None
        result.ms[key] = elapsed * 1000
        return reply

    try:
        select = await timed("select", f"SELECT {quote(folders.main)}", keep=True)
        if select is None:
            return result
        exists = next(
            (int(line.split()[1]) for line in select.untagged if line.upper().endswith(b" EXISTS")),
            -1,
        )
        if exists != m:
            result.errors.append(f"SELECT: {exists} EXISTS, expected {m}")
        await timed("fetch_flags", "FETCH 1:* (FLAGS)")
        await timed("fetch_sync", "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")
        await timed("fetch_bodies", f"FETCH 1:{min(load.body_range, m)} BODY.PEEK[]")
        for key, criterion in (
            ("search_from", f"FROM {quote(imap_messages.FROM_TERM)}"),
            ("search_subject", f"SUBJECT {quote(imap_messages.SUBJECT_TERM)}"),
            ("search_body", f"BODY {quote(imap_messages.BODY_TERM)}"),
        ):
            reply = await timed(key, f"UID SEARCH {criterion}", keep=True)
            if reply is not None:
                result.search_hits[key] = len(search_numbers(reply))

        seen = search_numbers(await must(conn, "UID SEARCH SEEN", keep=True))
        await timed("store_add", "STORE 1:* +FLAGS (\\Seen)")
        await timed("store_remove", "STORE 1:* -FLAGS (\\Seen)")
        for uid_set in compact_sets(seen):
            await must(conn, f"UID STORE {uid_set} +FLAGS.SILENT (\\Seen)")
        seen_after = search_numbers(await must(conn, "UID SEARCH SEEN", keep=True))
        if sorted(seen_after) != sorted(seen):
            result.errors.append(f"\\Seen on {len(seen_after)} after the STOREs, not {len(seen)}")

        await timed("copy", f"COPY 1:{k} {quote(folders.copy)}")
        await must(conn, f"DELETE {quote(folders.copy)}")
        await must(conn, f"CREATE {quote(folders.copy)}")

        if "MOVE" in conn.capabilities:
            moved = await timed("move", f"MOVE {last_k} {quote(folders.moved)}")
            if moved is not None:
                await must(conn, f"SELECT {quote(folders.moved)}")
                await must(conn, f"UID MOVE 1:* {quote(folders.main)}")
                await must(conn, f"SELECT {quote(folders.main)}")
        else:
            result.ms["move"] = None
            result.errors.append("move: the server does not offer MOVE")

        await must(conn, f"COPY {last_k} {quote(folders.stash)}")
        await must(conn, f"STORE {last_k} +FLAGS.SILENT (\\Deleted)")
        expunged = await timed("expunge", "EXPUNGE")
        if expunged is None:
            await must(conn, f"STORE {last_k} -FLAGS.SILENT (\\Deleted)")
            await must(conn, f"DELETE {quote(folders.stash)}")
            await must(conn, f"CREATE {quote(folders.stash)}")
        else:
            await must(conn, f"SELECT {quote(folders.stash)}")
            if "MOVE" in conn.capabilities:
                await must(conn, f"UID MOVE 1:* {quote(folders.main)}")
            else:
                await must(conn, f"UID COPY 1:* {quote(folders.main)}")
                await must(conn, "UID STORE 1:* +FLAGS.SILENT (\\Deleted)")
                await must(conn, "EXPUNGE")
            # Not DELETE of the selected folder: Dovecot then drops the connection.
            await must(conn, f"SELECT {quote(folders.main)}")
        count = await message_count(conn, folders.main)
        if count != m:
            result.errors.append(f"after the round {folders.main} holds {count}, not {m}")
        await conn.logout()
    except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        result.errors.append(f"round stopped: {describe(exc)}")
        conn.abort()
    return result


def print_round(result: RoundResult) -> None:
    cells = []
    for op in OPERATIONS:
        value = result.ms.get(op.key)
        cells.append(f"{op.key} {'—' if value is None else f'{value:.1f}'}")
    print("  ms: " + ", ".join(cells))
    cpu = sum(result.client_cpu_ms.values())
    timed = sum(v for v in result.ms.values() if v is not None)
    print(
        f"  client CPU {cpu:.0f} ms of {timed:.0f} ms timed; search hits "
        + ", ".join(f"{k} {v}" for k, v in result.search_hits.items())
    )
    for error in result.errors:
        print(f"  error: {error}")
