"""10,000 IMAP sessions in IDLE at once, and deliveries waking the right ones.

    .venv/bin/python bench/imap_idle_many.py [--sessions 10000] [--accounts 100]
        [--addresses 100] [--deliveries 30] [--only mailroom|dovecot|both] [--workers N]
        [--rounds 3]

Opens N sessions (LOGIN, SELECT INBOX, IDLE) spread over `--accounts` accounts
(user0..user{A-1}@example.test) and `--addresses` source addresses 127.0.0.2..,
so neither a per-address nor a per-user-and-address cap is what stops them. Then
delivers `--deliveries` messages one after the other, each to one account picked in
turn, and times, for every session of that account, the moment its `* N EXISTS`
arrives, from the moment the message's final dot was sent (so the delivery is in the
figure) and from the delivery's `250` (the wake-up alone). A session of another account
that sees an EXISTS counts as "woken wrongly". Memory: PSS and RSS of the server's
process tree before the first session and with all of them in IDLE (imap_memory.py).
`--rounds` rounds, the two servers alternating (Dovecot first in odd rounds, Mailroom
first in even ones), then the median of the rounds of each figure.

Mailroom: a throw-away one from this checkout (imap_mailroom.py) with an SMTP listener;
deliveries by SMTP (its `250` after DATA means stored). The reference (`--only dovecot`):
Dovecot of `bench/reference/start DIR` (default /tmp/ref-idle10k, IMAP port 13143),
deliveries over its LMTP socket (the `250` means stored, as Postfix's LMTP client
would get it; Postfix's queue is left out so its scheduling is not in the figure).

Every connection is to 127.0.0.1 from 127.0.0.x; every wait is bounded in time; every
session opened is closed at the end. As root (the reference's LMTP socket is its
postfix user's). Results and the limits that had to be raised: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import imap_mailroom
import imap_memory
from imap_client import ImapConnection, ImapError, describe, quote

PASSWORD = "demo"  # noqa: S105 - the benchmarks' well-known demo password
DOMAIN = "example.test"
STEP_TIMEOUT_S = 60.0
SETUP_CONCURRENCY = 64
SETTLE_S = 3.0
WAKE_TIMEOUT_S = 10.0
GAP_S = 0.5
ROOM_FOR_DELIVERY = 8
DEFAULT_REFERENCE_DIR = Path("/tmp/ref-idle10k")  # noqa: S108 - bench/reference/start DIR
DEFAULT_REFERENCE_IMAP = 13143


@dataclass
class Session:
    conn: ImapConnection
    account: int
    woken: list[float] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None


@dataclass
class Outcome:
    name: str
    requested: int
    established: int = 0
    seconds_to_open: float = 0.0
    before: imap_memory.MemorySample | None = None
    after: imap_memory.MemorySample | None = None
    from_dot_ms: list[float] = field(default_factory=list)
    from_250_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    missed: int = 0
    wrong: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    open_files: int = 0


def message(account: int, index: int) -> bytes:
    return (
        f"From: bench@{DOMAIN}\r\nTo: user{account}@{DOMAIN}\r\n"
        f"Subject: wake {index}\r\nMessage-ID: <wake{index}.{time.time_ns()}@bench>\r\n\r\n"
        "wake up\r\n.\r\n"
    ).encode()


async def expect(reader: asyncio.StreamReader, code: bytes) -> bytes:
    """Read one (possibly multi-line) reply; raise unless it starts with `code`."""
    while True:
        line = await asyncio.wait_for(reader.readline(), STEP_TIMEOUT_S)
        if not line:
            raise ImapError("connection closed")
        if line[3:4] != b"-":
            if not line.startswith(code):
                raise ImapError(f"expected {code!r}, got {line[:120]!r}")
            return line


class Deliverer:
    """One SMTP or LMTP session kept open for all the deliveries."""

    def __init__(self, lmtp: bool, host: str, port: int, socket_path: Path | None) -> None:
        self.lmtp, self.host, self.port, self.socket_path = lmtp, host, port, socket_path
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> None:
        if self.socket_path is not None:
            self.reader, self.writer = await asyncio.open_unix_connection(str(self.socket_path))
        else:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        await expect(self.reader, b"220")
        self.writer.write(b"LHLO bench\r\n" if self.lmtp else b"EHLO bench\r\n")
        await expect(self.reader, b"250")

    async def deliver(self, account: int, index: int) -> tuple[float, float]:
        """(moment the final dot went out, moment the 250 came), monotonic seconds."""
        self.writer.write(f"MAIL FROM:<bench@{DOMAIN}>\r\n".encode())
        await expect(self.reader, b"250")
        self.writer.write(f"RCPT TO:<user{account}@{DOMAIN}>\r\n".encode())
        await expect(self.reader, b"250")
        self.writer.write(b"DATA\r\n")
        await expect(self.reader, b"354")
        self.writer.write(message(account, index))
        dot = time.monotonic()
        await expect(self.reader, b"250")
        return dot, time.monotonic()

    async def close(self) -> None:
        with contextlib.suppress(OSError, ImapError, TimeoutError):
            self.writer.write(b"QUIT\r\n")
            await asyncio.wait_for(self.reader.readline(), 5)
        self.writer.close()


async def watch(session: Session) -> None:
    """Record when each EXISTS arrives while the session idles."""
    reader = session.conn.reader
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.rstrip().upper().endswith(b" EXISTS"):
            session.woken.append(time.monotonic())


async def open_session(
    host: str, port: int, local: str, account: int, errors: Counter[str]
) -> Session | None:
    try:
        conn = await ImapConnection.open(host, port, STEP_TIMEOUT_S, local_host=local)
    except (OSError, ImapError, TimeoutError, asyncio.IncompleteReadError) as exc:
        errors[f"connect: {describe(exc)[:70]}"] += 1
        return None
    try:
        reply = await conn.command(f"LOGIN {quote(f'user{account}@{DOMAIN}')} {quote(PASSWORD)}")
        if not reply.ok():
            errors[f"LOGIN {reply.status} {reply.text[:70]}"] += 1
            conn.abort()
            return None
        select = await conn.command("SELECT INBOX")
        if not select.ok():
            errors[f"SELECT {select.status} {select.text[:70]}"] += 1
            conn.abort()
            return None
        await conn.start_idle()
    except (OSError, ImapError, TimeoutError, asyncio.IncompleteReadError) as exc:
        errors[describe(exc)[:80]] += 1
        conn.abort()
        return None
    session = Session(conn, account)
    session.reader = asyncio.create_task(watch(session))
    return session


async def measure(
    name: str,
    pid: int,
    imap: tuple[str, int],
    deliverer: Deliverer,
    args: argparse.Namespace,
) -> Outcome:
    outcome = Outcome(name, args.sessions)
    await asyncio.sleep(SETTLE_S)
    outcome.before = imap_memory.sample(pid)
    sessions: list[Session] = []
    semaphore = asyncio.Semaphore(SETUP_CONCURRENCY)
    deadline = time.monotonic() + args.open_timeout

    async def one(index: int) -> None:
        async with semaphore:
            if time.monotonic() > deadline:
                outcome.errors["not opened: --open-timeout reached"] += 1
                return
            # Session i: account i mod A, address (i div A) mod N: one per user and address.
            local = f"127.0.0.{2 + (index // args.accounts) % args.addresses}"
            session = await open_session(*imap, local, index % args.accounts, outcome.errors)
            if session is not None:
                sessions.append(session)

    started = time.monotonic()
    try:
        tasks = [asyncio.create_task(one(i)) for i in range(args.sessions)]
        _done, pending = await asyncio.wait(tasks, timeout=args.open_timeout + STEP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        outcome.seconds_to_open = time.monotonic() - started
        await asyncio.sleep(SETTLE_S)
        gone = [s for s in sessions if s.reader is not None and s.reader.done()]
        if gone:
            outcome.errors["closed by the server while idle"] += len(gone)
        sessions = [s for s in sessions if s not in gone]
        outcome.established = len(sessions)
        outcome.after = imap_memory.sample(pid)
        outcome.open_files = open_files(pid)
        print(
            f"  {name}: {outcome.established}/{args.sessions} in IDLE after "
            f"{outcome.seconds_to_open:.0f} s",
            flush=True,
        )
        if outcome.established < args.sessions and len(sessions) > ROOM_FOR_DELIVERY:
            # The server's cap was reached: a few sessions make room for the delivery's
            # own connection (the host's limit counts SMTP and IMAP together).
            for session in sessions[-ROOM_FOR_DELIVERY:]:
                if session.reader is not None:
                    session.reader.cancel()
                session.conn.abort()
            del sessions[-ROOM_FOR_DELIVERY:]
            await asyncio.sleep(1.0)
        await deliveries(sessions, deliverer, args, outcome)
    finally:
        for session in sessions:
            if session.reader is not None:
                session.reader.cancel()
            session.conn.abort()
    return outcome


async def deliveries(
    sessions: list[Session], deliverer: Deliverer, args: argparse.Namespace, outcome: Outcome
) -> None:
    by_account: dict[int, list[Session]] = {}
    for session in sessions:
        by_account.setdefault(session.account, []).append(session)
    accounts = sorted(by_account)
    if not accounts:
        return
    try:
        await deliverer.open()
    except (OSError, ImapError, TimeoutError) as exc:
        outcome.errors[f"delivery session: {describe(exc)[:70]}"] += 1
        return
    try:
        for index in range(args.deliveries):
            account = accounts[(index * 37) % len(accounts)]
            for session in sessions:
                session.woken.clear()
            try:
                dot, stored = await deliverer.deliver(account, index)
            except (OSError, ImapError, TimeoutError) as exc:
                outcome.errors[f"delivery: {describe(exc)[:70]}"] += 1
                break
            outcome.delivery_ms.append((stored - dot) * 1000)
            targets = by_account[account]
            limit = time.monotonic() + WAKE_TIMEOUT_S
            while time.monotonic() < limit and not all(s.woken for s in targets):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            await asyncio.sleep(GAP_S)  # any wrong wake-up has had time to arrive
            for session in targets:
                if session.woken:
                    outcome.from_dot_ms.append((session.woken[0] - dot) * 1000)
                    outcome.from_250_ms.append(max(0.0, session.woken[0] - stored) * 1000)
                else:
                    outcome.missed += 1
            outcome.wrong += sum(1 for s in sessions if s.account != account and s.woken)
    finally:
        await deliverer.close()


def open_files(root: int) -> int:
    """Descriptors open in the server's process tree (what its fd limits must cover)."""
    total = 0
    for pid in imap_memory.process_tree(root):
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{pid}/fd"))
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(outcome: Outcome) -> None:
    before, after = outcome.before, outcome.after
    print(f"{outcome.name}: {outcome.established}/{outcome.requested} sessions in IDLE")
    if before and after:
        print(
            f"  processes {before.processes} → {after.processes}; "
            f"PSS {before.pss_kib / 1024:.1f} → {after.pss_kib / 1024:.1f} MiB; "
            f"RSS {before.rss_kib / 1024:.1f} → {after.rss_kib / 1024:.1f} MiB; "
            f"{(after.pss_kib - before.pss_kib) / max(1, outcome.established):.1f} KiB PSS "
            f"per session; {outcome.open_files} descriptors open"
        )
    for label, values in (("from dot", outcome.from_dot_ms), ("from 250", outcome.from_250_ms)):
        if values:
            print(
                f"  wake-up {label}: n={len(values)} p50 {statistics.median(values):.1f} ms, "
                f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"
            )
    if outcome.delivery_ms:
        print(f"  delivery (dot → 250) median {statistics.median(outcome.delivery_ms):.1f} ms")
    print(
        f"  not woken within {WAKE_TIMEOUT_S:.0f} s: {outcome.missed}; "
        f"woken wrongly: {outcome.wrong}"
    )
    for kind, count in outcome.errors.most_common(8):
        print(f"  error: {kind} ×{count}")


MAILROOM_EXTRA = """
[limits]
max_connections_per_address = {per_address}

[[listeners]]
name = "smtp"
protocol = "smtp"
address = "127.0.0.1:{smtp}"
tls = "starttls"
"""


@dataclass
class MailroomSetup:
    """A Mailroom directory with the accounts made once (the CLI is slow) and served
    afresh in each round."""

    directory: Path
    config: Path
    imap: int
    smtp: int


def add_accounts(config: Path, accounts: list[str]) -> None:
    """The accounts, made in this one process: one `mailroom user add` per account
    costs a Python start-up each, which took up to 40 s apiece on a loaded machine."""
    from mailroom import app
    from mailroom.config import load_config

    async def add() -> None:
        settings = load_config(config)
        hashed = app.password_hasher(settings).hash(PASSWORD)
        directory = await app.open_directory(settings)
        try:
            for address in accounts:
                await directory.add_account(address, hashed)
        finally:
            await directory.close()

    asyncio.run(add())


def prepare_mailroom(args: argparse.Namespace) -> MailroomSetup:
    accounts = [f"user{i}@{DOMAIN}" for i in range(args.accounts)]
    first = imap_mailroom.start(
        accounts[:1],
        PASSWORD,
        max_connections=args.sessions + 100,
        keep_dir=True,
        workers=args.workers,
    )
    imap_mailroom.stop(first, keep_dir=True)
    smtp = imap_mailroom.free_loopback_port()
    config = first.directory / "mailroom.toml"
    add_accounts(config, accounts[1:])
    # Session i comes from address (i div A) mod N: fewer sessions use fewer addresses.
    used = min(args.addresses, -(-args.sessions // args.accounts))
    per_address = max(50, -(-args.sessions // used) + 50)
    config.write_text(
        config.read_text() + MAILROOM_EXTRA.format(per_address=per_address, smtp=smtp)
    )
    return MailroomSetup(first.directory, config, first.port, smtp)


async def run_mailroom(args: argparse.Namespace, setup: MailroomSetup, last: bool) -> Outcome:
    command = imap_mailroom.mailroom_command()
    running = imap_mailroom.serve(command, setup.directory, setup.config, setup.imap)
    smtp = setup.smtp
    try:
        limits = [x for x in running.log_path.read_text().splitlines() if "connection" in x.lower()]
        for line in limits[:3]:
            print(f"  mailroom log: {line.strip()[:160]}")
        deliverer = Deliverer(False, "127.0.0.1", smtp, None)
        return await measure("mailroom", running.pid, ("127.0.0.1", running.port), deliverer, args)
    finally:
        imap_mailroom.stop(running, keep_dir=args.keep or not last)
        if args.keep and last:
            print(f"  kept {running.directory}")


async def run_reference(args: argparse.Namespace) -> Outcome:
    pid = imap_memory.read_pid_file(args.reference_dir / "dovecot" / "run" / "master.pid")
    deliverer = Deliverer(True, "", 0, args.reference_dir / "dovecot" / "run" / "lmtp")
    return await measure("dovecot", pid, ("127.0.0.1", args.reference_imap), deliverer, args)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"open-file limit of this client (and the Mailroom it starts): {hard}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--addresses", type=int, default=100, help="source 127.0.0.2..")
    parser.add_argument("--deliveries", type=int, default=30)
    parser.add_argument("--open-timeout", type=float, default=900.0)
    parser.add_argument("--workers", type=int, default=1, help="Mailroom's [server] workers")
    parser.add_argument("--only", choices=("mailroom", "dovecot", "both"), default="both")
    parser.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--reference-imap", type=int, default=DEFAULT_REFERENCE_IMAP)
    parser.add_argument("--keep", action="store_true", help="keep Mailroom's directory")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    args = parser.parse_args()
    checks = (
        (1 <= args.sessions <= 20_000, "--sessions must be 1..20000"),
        (1 <= args.accounts <= 100, "--accounts must be 1..100 (the reference has 100)"),
        (1 <= args.addresses <= 250, "--addresses must be 1..250"),
        (0 <= args.deliveries <= 1000, "--deliveries must be 0..1000"),
        (1 <= args.rounds <= 9, "--rounds must be 1..9"),
    )
    for ok, text in checks:
        if not ok:
            parser.error(text)
    raise_fd_limit()
    outcomes: list[Outcome] = []
    setup = prepare_mailroom(args) if args.only in ("mailroom", "both") else None
    for round_index in range(args.rounds):
        names = ["dovecot", "mailroom"] if round_index % 2 == 0 else ["mailroom", "dovecot"]
        for name in names:
            if name == "dovecot" and args.only in ("dovecot", "both"):
                outcomes.append(asyncio.run(run_reference(args)))
            elif name == "mailroom" and setup is not None:
                last = round_index == args.rounds - 1
                outcomes.append(asyncio.run(run_mailroom(args, setup, last)))
            else:
                continue
            print(f"round {round_index + 1}, load average {load_average()}")
            report(outcomes[-1])
    for name in ("dovecot", "mailroom"):
        rounds = [outcome for outcome in outcomes if outcome.name == name]
        if rounds:
            report_median(name, rounds)
    return 0


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def report_median(name: str, rounds: list[Outcome]) -> None:
    """Each figure's median over the rounds (each round's own median or percentile)."""

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    def per_round(figure: Callable[[Outcome], float | None]) -> float:
        return median([v for v in (figure(o) for o in rounds) if v is not None])

    def mib(sample: imap_memory.MemorySample | None, what: str) -> float | None:
        return None if sample is None else getattr(sample, what) / 1024

    def per_session(o: Outcome) -> float | None:
        if o.before is None or o.after is None or not o.established:
            return None
        return (o.after.pss_kib - o.before.pss_kib) / o.established

    def wake(values: list[float], fraction: float | None) -> float | None:
        if not values:
            return None
        return statistics.median(values) if fraction is None else percentile(values, fraction)

    print(f"{name}: median of {len(rounds)} rounds")
    print(
        f"  sessions in IDLE {per_round(lambda o: o.established):.0f}/{rounds[0].requested}, "
        f"opened in {per_round(lambda o: o.seconds_to_open):.0f} s; "
        f"processes {per_round(lambda o: o.after.processes if o.after else None):.0f}"
    )
    print(
        f"  PSS {per_round(lambda o: mib(o.before, 'pss_kib')):.1f} → "
        f"{per_round(lambda o: mib(o.after, 'pss_kib')):.1f} MiB, "
        f"RSS {per_round(lambda o: mib(o.before, 'rss_kib')):.1f} → "
        f"{per_round(lambda o: mib(o.after, 'rss_kib')):.1f} MiB, "
        f"{per_round(per_session):.1f} KiB PSS per session; "
        f"descriptors {per_round(lambda o: o.open_files):.0f} "
        f"({per_round(lambda o: o.open_files / max(1, o.established)):.2f} per session)"
    )
    for label, attribute in (("from 250", "from_250_ms"), ("from dot", "from_dot_ms")):
        series = [getattr(o, attribute) for o in rounds]
        print(
            f"  wake-up {label}: p50 {median([statistics.median(v) for v in series if v]):.1f}"
            f" ms, p99 {median([percentile(v, 0.99) for v in series if v]):.1f} ms, "
            f"max {median([max(v) for v in series if v]):.1f} ms, "
            f"n {median([len(v) for v in series]):.0f} per round"
        )
    print(
        f"  delivery (dot → 250) {per_round(lambda o: wake(o.delivery_ms, None)):.1f} ms; "
        f"not woken {sum(o.missed for o in rounds)}, woken wrongly "
        f"{sum(o.wrong for o in rounds)} (all rounds)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
