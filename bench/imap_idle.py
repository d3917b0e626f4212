"""The IMAP benchmark's memory figure: how much memory does a session in IDLE cost the
server? N connections, each logged in (over many accounts, so per-user limits do not
apply), a mailbox selected, in IDLE; the server's memory (PSS summed over its process
tree, imap_memory.py) before and after, divided by N. Every wait is bounded in time;
every session opened is closed again.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import imap_memory  # the bench directory is not a package: imported by path
from imap_client import ImapConnection, ImapError, describe, quote

IDLE_STEP_TIMEOUT_S = 60.0  # one step of opening an idle session
IDLE_SETUP_CONCURRENCY = 32  # sessions being opened at once
SETTLE_S = 2.0  # after the last session is idle, before sampling memory


@dataclass(frozen=True)
class IdleLoad:
    connections: int
    users: tuple[str, ...]
    password: str
    mailbox: str
    timeout_s: float
    """For opening all the sessions."""


@dataclass
class IdleResult:
    target: str
    requested: int
    established: int = 0
    seconds_to_open: float = 0.0
    before: imap_memory.MemorySample | None = None
    after: imap_memory.MemorySample | None = None
    inbox_messages_mean: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def kib_per_connection(self) -> float | None:
        if self.before is None or self.after is None or not self.established:
            return None
        return (self.after.pss_kib - self.before.pss_kib) / self.established


async def idle_memory(
    name: str, host: str, port: int, pid: int | None, load: IdleLoad
) -> IdleResult:
    """Memory per session in IDLE: N sessions opened on `host`:`port` (target `name`), the
    PSS of the process tree under `pid` before and after."""
    result = IdleResult(target=name, requested=load.connections)
    if pid is None:
        result.note = "no pid= or pidfile= for this target: memory not measured"
        return result
    if not imap_memory.process_tree(pid):
        result.note = f"process {pid} not found: memory not measured"
        return result
    errors: Counter[str] = Counter()
    users = load.users

    async def open_idle(index: int) -> tuple[ImapConnection, int] | None:
        user = users[index % len(users)]
        try:
            conn = await ImapConnection.open(host, port, IDLE_STEP_TIMEOUT_S)
        except (OSError, ImapError, TimeoutError) as exc:
            errors[f"connect: {describe(exc)[:60]}"] += 1
            return None
        try:
            reply = await conn.command(f"LOGIN {quote(user)} {quote(load.password)}")
            if not reply.ok():
                errors[f"LOGIN {reply.status} {reply.text[:60]}"] += 1
                conn.abort()
                return None
            select = await conn.command(f"SELECT {quote(load.mailbox)}", keep=True)
            if not select.ok():
                errors[f"SELECT {select.status} {select.text[:60]}"] += 1
                conn.abort()
                return None
            exists = next(
                (int(x.split()[1]) for x in select.untagged if x.upper().endswith(b" EXISTS")), 0
            )
            await conn.start_idle()
            return conn, exists
        except (OSError, ImapError, TimeoutError, asyncio.IncompleteReadError) as exc:
            errors[describe(exc)[:80]] += 1
            conn.abort()
            return None

    # Logins before the first sample, so one-off costs of the first logins (password
    # hashing threads, caches) are in "before" on both sides.
    warm = await asyncio.gather(*(open_idle(i) for i in range(min(8, len(users)))))
    for opened in warm:
        if opened is not None:
            opened[0].abort()
    errors.clear()
    await asyncio.sleep(SETTLE_S)
    result.before = imap_memory.sample(pid)

    sessions: list[ImapConnection] = []
    inbox_sizes: list[int] = []
    semaphore = asyncio.Semaphore(IDLE_SETUP_CONCURRENCY)
    deadline = time.monotonic() + load.timeout_s

    async def one(index: int) -> None:
        async with semaphore:
            if time.monotonic() > deadline:
                errors["not opened: --idle-timeout reached"] += 1
                return
            opened = await open_idle(index)
            if opened is not None:
                sessions.append(opened[0])
                inbox_sizes.append(opened[1])

    started = time.perf_counter()
    try:
        tasks = [asyncio.create_task(one(i)) for i in range(load.connections)]
        _done, pending = await asyncio.wait(tasks, timeout=load.timeout_s + 2 * IDLE_STEP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        if pending:
            errors["not opened: --idle-timeout reached"] += len(pending)
        result.seconds_to_open = time.perf_counter() - started
        result.established = len(sessions)
        await asyncio.sleep(SETTLE_S)
        alive = sum(1 for s in sessions if not s.reader.at_eof())
        if alive < len(sessions):
            errors["closed by the server while idle"] += len(sessions) - alive
            result.established = alive
        result.after = imap_memory.sample(pid)
        result.inbox_messages_mean = statistics.fmean(inbox_sizes) if inbox_sizes else 0.0
    finally:
        for session in sessions:
            session.abort()
    result.errors = dict(errors)
    await wait_for_processes(pid, result.before.processes if result.before else 0)
    return result


async def wait_for_processes(pid: int, count: int, limit_s: float = 60.0) -> None:
    """Until the tree is back to ``count`` processes (Dovecot's imap processes exit after
    their client leaves), so the next measurement does not meet them; bounded in time."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and len(imap_memory.process_tree(pid)) > count:  # noqa: ASYNC110 - /proc sends no event
        await asyncio.sleep(0.25)


def print_idle(result: IdleResult) -> None:
    if result.note:
        print(f"  {result.note}")
        return
    before, after = result.before, result.after
    print(
        f"  {result.established}/{result.requested} sessions in IDLE after "
        f"{result.seconds_to_open:.1f} s (mean INBOX {result.inbox_messages_mean:.0f} messages)"
    )
    if before and after:
        print(
            f"  server: {before.processes} → {after.processes} processes, "
            f"PSS {before.pss_kib / 1024:.1f} → {after.pss_kib / 1024:.1f} MiB, "
            f"RSS {before.rss_kib / 1024:.1f} → {after.rss_kib / 1024:.1f} MiB"
            + ("" if after.pss_known else " (some PSS unreadable: RSS used for those)")
        )
    per = result.kib_per_connection
    if per is not None:
        print(f"  {per:.1f} KiB PSS per idle connection")
    for kind, n in sorted(result.errors.items()):
        print(f"  error: {kind} ×{n}")
