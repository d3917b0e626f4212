"""POP3 benchmark: how long does a POP3 client take to download and delete M messages?

For each target (or, with --compare, a Mailroom started from this checkout and
the reference Dovecot of bench/reference/, in alternating rounds), every round:

1. untimed, over IMAP: make sure the account's INBOX is empty (if not, STORE
   \\Deleted and EXPUNGE), then APPEND M varied messages to it
   (bench/imap_messages.py; every 20th gets lines beginning with ".", so
   dot-stuffing is exercised);
2. timed, on a new POP3 connection (plain TCP, USER/PASS as fetchmail or
   poplib log in): connect, greeting, CAPA, USER, PASS ("login"); STAT and
   UIDL; RETR 1..M, each waiting for its whole answer before the next is sent
   (with --pipelined, in bursts of --burst commands, only if CAPA lists
   PIPELINING; DELE then too), each answer's size checked against the message
   appended; DELE 1..M; QUIT, timed until its +OK, which the server sends once
   it has applied the deletions (RFC 1939 §6);
3. untimed, over IMAP: INBOX must be empty (the deletions really happened).

With ``pid=`` on a target (``--compare``'s Mailroom has it), the server's CPU time
is read from /proc (the process and its descendants, with their reaped children)
around RETR 1..M and the whole session: CPU per message is steadier than wall time
on a shared machine.

Prints a line per round as it goes, then one table: per figure the median over
rounds (min–max), per target, and the ratio first/second (with --compare:
Mailroom/Dovecot; for times lower is better, for rates higher).

The POP3 client is bench/pop3_client.py (blocking socket, buffered reads), not
poplib, whose Python work per line would be a good part of what is measured.

Only loopback addresses are accepted: this is a load generator. Every loop is
bounded in count and every wait in time. The account's INBOX is emptied before
and after the run, so use a benchmark account (default bob@example.test, which
the other benchmarks leave alone); a Mailroom the script starts is stopped by
its PID and its temporary directory removed.

Usage: ``python bench/pop3_bench.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
import imap_messages
from imap_client import ImapConnection, ImapError
from loopback import host_and_port, require_loopback
from mailbox_fill import append_messages, check_filled, logged_in, message_count, must
from pop3_client import Pop3Connection, Pop3Error, uidl_lines, unstuffed_length
from summary import summarize, table_rows

REFERENCE_HOST = "127.0.0.1"
REFERENCE_POP3_PORT = 12110
REFERENCE_IMAP_PORT = 12143
BENCH_DOMAIN = "example.test"
DOT_EVERY = 20  # every DOT_EVERY-th message gets lines that need dot-stuffing
DOT_LINES = b".\r\n.signature, a line that begins with a dot\r\n"
MB = 1_000_000


@dataclass(frozen=True)
class Target:
    """A POP3 server and the IMAP address of the same mail store (to fill and check)."""

    name: str
    host: str
    pop3_port: int
    imap_host: str
    imap_port: int
    user: str
    password: str
    server: str | None = None
    """The server's process (a PID, or a file holding one: Dovecot's master.pid):
    the CPU time of it and its descendants is measured around each step."""

    def __str__(self) -> str:
        cpu = f", CPU of pid {self.server}" if self.server else ""
        return (
            f"{self.name} pop3://{self.host}:{self.pop3_port} "
            f"(imap {self.imap_host}:{self.imap_port}) as {self.user}{cpu}"
        )


@dataclass(frozen=True)
class Load:
    messages: int
    rounds: int
    warmup_rounds: int
    pipelined: bool
    burst: int
    seed: int
    command_timeout_s: float
    round_timeout_s: float


@dataclass(frozen=True)
class Figure:
    key: str
    label: str


FIGURES = (
    Figure("login_ms", "login: connect, CAPA, USER, PASS (ms)"),
    Figure("list_ms", "STAT + UIDL (ms)"),
    Figure("retr_s", "RETR 1..M (s)"),
    Figure("retr_per_s", "RETR messages/s"),
    Figure("retr_mb_per_s", "RETR MB/s (10^6 bytes received)"),
    Figure("retr_reads", "RETR socket reads (client recv calls)"),
    Figure("dele_quit_s", "DELE 1..M + QUIT (s)"),
    Figure("quit_ms", "of which QUIT, deletions applied (ms)"),
    Figure("total_s", "total session (s)"),
    Figure("client_cpu_s", "client CPU in the session (s)"),
    Figure("retr_server_us", "server CPU per RETR (µs; pid=)"),
    Figure("server_cpu_ms", "server CPU, whole session (ms; pid=)"),
)


@dataclass
class RoundResult:
    target: str
    round: int
    figures: dict[str, float | None] = field(default_factory=dict)
    retr_bytes: int = 0
    size_mismatches: int = 0
    emptied_before: int = 0
    left_after: int | None = None
    errors: list[str] = field(default_factory=list)


class RoundStopped(Exception):
    """A round cannot go on: its POP3 session failed or ran out of time."""


# --------------------------------------------------------------------------- targets


def split_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6), checked to be loopback."""
    split = host_and_port(text)
    if split is None:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: expected HOST:PORT")
    require_loopback(split[0], f"{what} {text!r}")
    return split


def parse_target(
    text: str, index: int, user: str, password: str, imap: tuple[str, int] | None
) -> Target:
    """``[NAME=][pop3://]HOST:PORT[,imap=HOST:PORT][,user=U][,password=P][,pid=PID]``."""
    head, *options = text.split(",")
    name, sep, address = head.partition("=")
    if not sep:
        name, address = f"target{index + 1}", head
    address = address.removeprefix("pop3://")
    host, port = split_address(address, "target")
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in ("imap", "user", "password", "pid"):
            raise argparse.ArgumentTypeError(f"target {text!r}: unknown option {option!r}")
        values[key] = value
    imap_address = split_address(values["imap"], "imap=") if "imap" in values else imap
    if imap_address is None:
        raise argparse.ArgumentTypeError(
            f"target {text!r}: the messages are put in over IMAP; give imap=HOST:PORT or "
            "--imap HOST:PORT"
        )
    return Target(
        name=name,
        host=host,
        pop3_port=port,
        imap_host=imap_address[0],
        imap_port=imap_address[1],
        user=values.get("user", user),
        password=values.get("password", password),
        server=values.get("pid"),
    )


def reference_target(user: str, password: str) -> Target:
    return Target(
        name="dovecot",
        host=REFERENCE_HOST,
        pop3_port=REFERENCE_POP3_PORT,
        imap_host=REFERENCE_HOST,
        imap_port=REFERENCE_IMAP_PORT,
        user=user,
        password=password,
    )


# --------------------------------------------------------------------------- server CPU

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_root(server: str | None) -> int | None:
    """The PID named by a target's ``pid=`` (the number, or a file whose first line is)."""
    if server is None:
        return None
    text = server if server.isdigit() else Path(server).read_text().split()[0]
    return int(text)


def tree_cpu_s(root: int | None) -> float | None:
    """CPU seconds of ``root`` and every live descendant, each with its reaped
    children's (so a Dovecot pop3 process that exited after QUIT still counts, in its
    master's cutime + cstime). A live process's own time is the sum over its threads of
    /proc/PID/task/TID/schedstat (nanoseconds; utime + stime in /proc/PID/stat count in
    clock ticks, 10 ms, too coarse for a few µs per message). None without a root or
    /proc."""
    if root is None:
        return None
    parents: dict[int, int] = {}
    reaped: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[1] is ppid; cutime and cstime are fields 16 and 17 of stat(5).
        parents[int(entry)] = int(fields[1])
        reaped[int(entry)] = int(fields[13]) + int(fields[14])
    if root not in parents:
        return None
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += reaped.get(pid, 0) / CLOCK_TICKS + _own_cpu_s(pid)
        todo.extend(children.get(pid, ()))
    return total


def _own_cpu_s(pid: int) -> float:
    """CPU seconds of a live process's threads (0 if it is gone)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for task in tasks:
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return total / 1e9


# --------------------------------------------------------------------------- corpus


def corpus(count: int, seed: int) -> list[imap_messages.BenchMessage]:
    """The IMAP benchmark's messages; every DOT_EVERY-th ends with lines beginning with
    ".", which the server must dot-stuff (RFC 1939 §3) and the size check then sees."""
    messages, _counts = imap_messages.generate(count, seed)
    return [
        replace(m, data=m.data + DOT_LINES) if i % DOT_EVERY == 0 else m
        for i, m in enumerate(messages)
    ]


def expected_size(data: bytes) -> int:
    """What RETR must return once unstuffed: the message, ending with CRLF."""
    return len(data) if data.endswith(b"\r\n") else len(data) + 2


# --------------------------------------------------------------------------- IMAP side


async def imap_connect(target: Target, load: Load) -> ImapConnection:
    return await logged_in(
        target.imap_host, target.imap_port, target.user, target.password, load.command_timeout_s
    )


async def empty_inbox(conn: ImapConnection) -> int:
    """Expunge everything in INBOX; returns how many messages were there."""
    select = await must(conn, "SELECT INBOX", keep=True)
    exists = next(
        (int(line.split()[1]) for line in select.untagged if line.upper().endswith(b" EXISTS")),
        0,
    )
    if exists:
        await must(conn, "STORE 1:* +FLAGS.SILENT (\\Deleted)")
        await must(conn, "EXPUNGE")
    await must(conn, "UNSELECT" if "UNSELECT" in conn.capabilities else "CLOSE")
    return exists


async def fill_inbox(target: Target, load: Load, messages: list[imap_messages.BenchMessage]) -> int:
    """Empty INBOX, then APPEND ``messages`` to it; returns how many were there before."""
    conn = await imap_connect(target, load)
    try:
        before = await empty_inbox(conn)
        await append_messages(conn, "INBOX", messages)
        await check_filled(conn, "INBOX", len(messages))
        await conn.logout()
    except BaseException:
        conn.abort()
        raise
    return before


async def inbox_count(target: Target, load: Load) -> int:
    conn = await imap_connect(target, load)
    try:
        count = await message_count(conn, "INBOX")
        await conn.logout()
    except BaseException:
        conn.abort()
        raise
    return count


async def empty_inbox_at_end(target: Target, load: Load) -> None:
    conn = await imap_connect(target, load)
    try:
        await empty_inbox(conn)
        await conn.logout()
    except BaseException:
        conn.abort()
        raise


# --------------------------------------------------------------------------- POP3 session


def pop3_session(target: Target, load: Load, sizes: list[int], result: RoundResult) -> None:
    """The timed session: login, STAT, UIDL, RETR 1..M, DELE 1..M, QUIT.

    Figures go into ``result``; a failure raises (the connection is then dropped
    without QUIT, so the server deletes nothing)."""
    m = len(sizes)
    deadline = time.monotonic() + load.round_timeout_s

    def in_time(step: str) -> None:
        if time.monotonic() > deadline:
            raise RoundStopped(f"{step}: --round-timeout of {load.round_timeout_s:.0f} s reached")

    root = server_root(target.server)
    server_started = tree_cpu_s(root)
    cpu_started = time.process_time()
    started = time.perf_counter()
    conn, _greeting = Pop3Connection.open(target.host, target.pop3_port, load.command_timeout_s)
    try:
        capabilities = conn.capabilities()
        conn.login(target.user, target.password)
        logged_in = time.perf_counter()
        if load.pipelined and "PIPELINING" not in capabilities:
            raise RoundStopped(
                "--pipelined: the server's CAPA does not list PIPELINING "
                f"({' '.join(sorted(capabilities))})"
            )

        count, octets = conn.stat()
        if count != m:
            raise RoundStopped(f"STAT: {count} messages ({octets} octets), expected {m}")
        uidl = uidl_lines(conn.multiline("UIDL"))
        if len(uidl) != m:
            raise RoundStopped(f"UIDL: {len(uidl)} lines, expected {m}")
        listed = time.perf_counter()
        server_listed = tree_cpu_s(root)

        received_before, reads_before = conn.received_bytes, conn.reads
        first_mismatch = ""

        def check(number: int, body: bytes) -> None:
            nonlocal first_mismatch
            got, wanted = unstuffed_length(body), sizes[number - 1]
            if got != wanted:
                result.size_mismatches += 1
                first_mismatch = first_mismatch or f"RETR {number}: {got} bytes, expected {wanted}"

        for numbers in bursts(m, load.burst if load.pipelined else 1):
            in_time(f"RETR {numbers[0]}")
            conn.send(*(f"RETR {n}" for n in numbers))
            for n in numbers:
                check(n, conn.read_multiline(f"RETR {n}"))
        retrieved = time.perf_counter()
        server_retrieved = tree_cpu_s(root)
        result.retr_bytes = conn.received_bytes - received_before
        retr_reads = conn.reads - reads_before
        if result.size_mismatches:
            result.errors.append(
                f"RETR sizes: {result.size_mismatches} of {m} differ from the message "
                f"appended (first: {first_mismatch})"
            )

        for numbers in bursts(m, load.burst if load.pipelined else 1):
            in_time(f"DELE {numbers[0]}")
            conn.send(*(f"DELE {n}" for n in numbers))
            for n in numbers:
                conn.read_status(f"DELE {n}")
        deleted = time.perf_counter()
        conn.quit()
        finished = time.perf_counter()
    finally:
        conn.close()
    client_cpu_s = time.process_time() - cpu_started
    if root is not None:
        time.sleep(0.3)  # untimed: a server process that ends after QUIT is reaped
    server_finished = tree_cpu_s(root)
    retr_s = retrieved - listed
    if server_listed is not None and server_retrieved is not None:
        result.figures["retr_server_us"] = (server_retrieved - server_listed) / m * 1e6
    if server_started is not None and server_finished is not None:
        result.figures["server_cpu_ms"] = (server_finished - server_started) * 1000
    result.figures.update(
        login_ms=(logged_in - started) * 1000,
        list_ms=(listed - logged_in) * 1000,
        retr_s=retr_s,
        retr_per_s=m / retr_s if retr_s > 0 else None,
        retr_mb_per_s=result.retr_bytes / MB / retr_s if retr_s > 0 else None,
        retr_reads=retr_reads,
        dele_quit_s=finished - retrieved,
        quit_ms=(finished - deleted) * 1000,
        total_s=finished - started,
        client_cpu_s=client_cpu_s,
    )


def bursts(count: int, size: int) -> list[list[int]]:
    """Message numbers 1..count in groups of ``size`` (1: one command at a time)."""
    return [list(range(i, min(i + size, count + 1))) for i in range(1, count + 1, size)]


# --------------------------------------------------------------------------- one round


def run_round(
    target: Target,
    load: Load,
    messages: list[imap_messages.BenchMessage],
    round_no: int,
) -> RoundResult:
    result = RoundResult(target=target.name, round=round_no)
    try:
        result.emptied_before = asyncio.run(fill_inbox(target, load, messages))
    except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        result.errors.append(f"fill over IMAP: {describe(exc)}")
        return result
    if result.emptied_before:
        print(f"  note: INBOX held {result.emptied_before} messages before the fill: expunged")
    sizes = [expected_size(m.data) for m in messages]
    try:
        pop3_session(target, load, sizes, result)
    except (Pop3Error, RoundStopped, OSError) as exc:
        result.errors.append(f"POP3: {describe(exc)}")
    try:
        result.left_after = asyncio.run(inbox_count(target, load))
    except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        result.errors.append(f"check over IMAP: {describe(exc)}")
    else:
        if result.left_after and "retr_s" in result.figures:
            result.errors.append(
                f"INBOX holds {result.left_after} of {len(messages)} messages after QUIT: "
                "the deletions were not applied"
            )
    return result


def describe(exc: BaseException) -> str:
    if isinstance(exc, (ImapError, Pop3Error, RoundStopped)):
        return str(exc)[:300]
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"{type(exc).__name__}: {exc}"[:300]


# --------------------------------------------------------------------------- reporting


def number(value: float) -> str:
    """Three significant figures or so, never scientific notation."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def print_round(result: RoundResult) -> None:
    f = result.figures
    if "total_s" in f:

        def show(key: str, fmt: Callable[[float], str] = number) -> str:
            value = f.get(key)
            return "—" if value is None else fmt(value)

        print(
            f"  login {show('login_ms')} ms, STAT+UIDL {show('list_ms')} ms, "
            f"RETR {show('retr_s')} s ({show('retr_per_s')} msg/s, "
            f"{show('retr_mb_per_s')} MB/s, {show('retr_reads')} reads), "
            f"DELE+QUIT {show('dele_quit_s')} s (QUIT {show('quit_ms')} ms), "
            f"total {show('total_s')} s, client CPU {show('client_cpu_s')} s, "
            f"server CPU {show('server_cpu_ms')} ms ({show('retr_server_us')} µs/RETR); "
            f"INBOX after: {'?' if result.left_after is None else result.left_after}",
            flush=True,
        )
    for error in result.errors:
        print(f"  error: {error}", flush=True)


def print_table(
    summary: dict[str, dict[str, tuple[float, float, float] | None]], load: Load
) -> None:
    names = list(summary)
    label_width = max(len(f.label) for f in FIGURES) + 2
    col = 24
    mode = f"pipelined, bursts of {load.burst}" if load.pipelined else "one command at a time"
    print(
        f"\nmedian over {load.rounds} round(s) (min–max); M={load.messages} messages, "
        f"RETR and DELE {mode}"
    )
    ratio_label = f"{names[0]}/{names[1]}" if len(names) >= 2 else ""
    ratio_width = max(len(ratio_label) + 2, 12)
    header = f"{'figure':<{label_width}}" + "".join(f"{n:>{col}}" for n in names)
    if ratio_label:
        header += f"{ratio_label:>{ratio_width}}"
    print(header)

    rows = [(figure.key, figure.label) for figure in FIGURES]
    for line in table_rows(rows, summary, names, (label_width, col, ratio_width), number):
        print(line)
    if ratio_label:
        print("(ratio first/second: below 1 is better for times, above 1 for rates)")


# --------------------------------------------------------------------------- orchestration


def run(targets: list[Target], load: Load) -> tuple[list[RoundResult], list[str]]:
    problems: list[str] = []
    print(f"generating {load.messages} messages (seed {load.seed})", flush=True)
    messages = corpus(load.messages, load.seed)
    sizes = [len(m.data) for m in messages]
    print(
        f"  {sum(sizes) / MB:.1f} MB, {min(sizes)}–{max(sizes)} B each "
        f"(median {statistics.median(sizes):.0f}); "
        f"{len(range(0, load.messages, DOT_EVERY))} with lines to dot-stuff",
        flush=True,
    )
    results: list[RoundResult] = []
    touched: list[Target] = []
    try:
        total = load.warmup_rounds + load.rounds
        for round_no in range(1, total + 1):
            warm = round_no <= load.warmup_rounds
            # Alternate which target goes first, so neither always meets a warmer machine.
            order = targets if round_no % 2 else list(reversed(targets))
            for target in order:
                title = (
                    "warm-up" if warm else f"round {round_no - load.warmup_rounds}/{load.rounds}"
                )
                print(f"\n{title}: {target}", flush=True)
                if target not in touched:
                    touched.append(target)
                result = run_round(target, load, messages, round_no - load.warmup_rounds)
                print_round(result)
                if not warm:
                    results.append(result)
                elif result.errors:
                    problems.append(f"{target.name} warm-up: {'; '.join(result.errors)}")
    finally:
        # What a failed or interrupted round left in INBOX goes, as the next round's fill
        # would have removed it.
        for target in touched:
            try:
                asyncio.run(empty_inbox_at_end(target, load))
            except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                problems.append(f"{target.name}: emptying INBOX at the end: {describe(exc)}")
    return results, problems


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="POP3 benchmark: download and delete M messages (login, STAT, UIDL, "
        "RETR 1..M, DELE 1..M, QUIT), filled over IMAP before each round.",
        epilog="Examples: python bench/pop3_bench.py --compare ; python bench/pop3_bench.py "
        "--target pop3://127.0.0.1:12110 --imap 127.0.0.1:12143",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="[NAME=][pop3://]HOST:PORT[,imap=HOST:PORT,user=U,password=P,pid=PID]",
        help="a POP3 server on loopback and the IMAP address of the same mailboxes (or "
        "--imap); pid= (a number or a pid file, e.g. Dovecot's run/master.pid) measures "
        "the CPU of that process and its descendants. Repeat to compare: the ratio is the "
        "first over the second",
    )
    parser.add_argument(
        "--imap",
        metavar="HOST:PORT",
        help="IMAP address for targets without imap=, used to fill and check INBOX",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="start a Mailroom from this checkout (temporary directory, IMAP and POP3 on "
        f"free 127.0.0.1 ports) and compare it with the reference Dovecot (POP3 "
        f"{REFERENCE_HOST}:{REFERENCE_POP3_PORT}, IMAP {REFERENCE_IMAP_PORT})",
    )
    parser.add_argument(
        "--user",
        default=f"bob@{BENCH_DOMAIN}",
        help="the account whose INBOX is filled, downloaded and emptied (bob@example.test)",
    )
    parser.add_argument("--password", default="demo", help="its password (demo)")
    parser.add_argument("-m", "--messages", type=int, default=2000, help="M per round (2000)")
    parser.add_argument("-r", "--rounds", type=int, default=5, help="timed rounds (5)")
    parser.add_argument(
        "--warmup-rounds", type=int, default=1, help="untimed rounds first, per target (1)"
    )
    parser.add_argument(
        "--pipelined",
        action="store_true",
        help="send RETR and DELE in bursts of --burst without waiting (RFC 2449 PIPELINING; "
        "a target whose CAPA does not list it fails its rounds)",
    )
    parser.add_argument("--burst", type=int, default=50, help="commands per burst (50)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=60.0,
        help="seconds one answer (or one IMAP setup command's reply) may take (60)",
    )
    parser.add_argument(
        "--round-timeout",
        type=float,
        default=600.0,
        help="seconds one POP3 session may take in all (600)",
    )
    parser.add_argument(
        "--keep-mailroom-dir", action="store_true", help="leave --compare's Mailroom directory"
    )
    parser.add_argument("--json", type=Path, help="also write every round and the summary here")
    return parser


def load_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Load:
    checks = [
        (1 <= args.messages <= 100_000, "--messages must be 1..100000"),
        (1 <= args.rounds <= 50, "--rounds must be 1..50"),
        (0 <= args.warmup_rounds <= 10, "--warmup-rounds must be 0..10"),
        (1 <= args.burst <= 1000, "--burst must be 1..1000"),
        (args.command_timeout > 0 and args.round_timeout > 0, "timeouts must be positive"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return Load(
        messages=args.messages,
        rounds=args.rounds,
        warmup_rounds=args.warmup_rounds,
        pipelined=args.pipelined,
        burst=args.burst,
        seed=args.seed,
        command_timeout_s=args.command_timeout,
        round_timeout_s=args.round_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load = load_from_args(args, parser)
    try:
        imap = split_address(args.imap, "--imap") if args.imap else None
        targets = [
            parse_target(text, i, args.user, args.password, imap)
            for i, text in enumerate(args.target)
        ]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not targets and not args.compare:
        parser.error("give --target or --compare")
    if len({t.name for t in targets}) != len(targets):
        parser.error("targets need distinct names: NAME=HOST:PORT")
    # SIGTERM ends the run like Ctrl-C does, so the cleanup below still happens.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    problems: list[str] = []
    mailroom: imap_mailroom.RunningMailroom | None = None
    try:
        if args.compare:
            if not any(t.name == "dovecot" for t in targets):
                targets.append(reference_target(args.user, args.password))
            print("starting Mailroom from this checkout (account added with the CLI)…", flush=True)
            try:
                mailroom = imap_mailroom.start(
                    [args.user],
                    args.password,
                    max_connections=100,
                    keep_dir=args.keep_mailroom_dir,
                    pop3=True,
                )
            except imap_mailroom.MailroomNotServing as exc:
                problems.append(f"mailroom: {exc}")
                print(f"  Mailroom is not measured: {exc}", flush=True)
            else:
                assert mailroom.pop3_port is not None
                print(
                    f"  mailroom serving POP3 on 127.0.0.1:{mailroom.pop3_port} and IMAP on "
                    f"127.0.0.1:{mailroom.port}, pid {mailroom.pid}, in {mailroom.directory}"
                )
                targets.insert(
                    0,
                    Target(
                        name="mailroom",
                        host="127.0.0.1",
                        pop3_port=mailroom.pop3_port,
                        imap_host="127.0.0.1",
                        imap_port=mailroom.port,
                        user=args.user,
                        password=args.password,
                        server=str(mailroom.pid),
                    ),
                )
        print(
            f"pop3_bench: {len(targets)} target(s), {load.rounds} round(s) of M={load.messages}"
            f"{' pipelined' if load.pipelined else ''}; client {sys.implementation.name} "
            f"{sys.version.split()[0]} on {os.cpu_count()} CPU(s), "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        try:
            results, run_problems = run(targets, load)
        except KeyboardInterrupt:
            print("\ninterrupted (Ctrl-C or SIGTERM)", flush=True)
            return 130
        problems.extend(run_problems)
    finally:
        if mailroom is not None:
            if mailroom.process.poll() is not None:
                problems.append(
                    f"mailroom exited with {mailroom.process.returncode} during the run"
                )
                print(imap_mailroom.log_tail(mailroom), file=sys.stderr)
            imap_mailroom.stop(mailroom, keep_dir=args.keep_mailroom_dir)
    summary = summarize(
        {t.name: [r.figures for r in results if r.target == t.name] for t in targets},
        [item.key for item in FIGURES],
    )
    print_table(summary, load)
    for problem in problems:
        print(f"problem: {problem}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "load": asdict(load),
                    "targets": [str(t) for t in targets],
                    "rounds": [asdict(r) for r in results],
                    "median_min_max": summary,
                    "problems": problems,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    failed = problems or any(r.errors for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
