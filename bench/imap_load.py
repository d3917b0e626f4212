"""IMAP under load, as a host sees it: N clients at once on M accounts, each logging in
and running a weighted random mix of what mail clients send (bench/imap_load_mix.py),
every answer checked for consistency (bench/imap_load_check.py), for a bounded time.

Per target, client count and round: a fresh start — new folders in every account,
filled the same way by APPEND (seeded corpus of bench/imap_messages.py, 50–300 messages
a folder) — then the run, then the folders are deleted. Prints per command: commands/s,
latency p50/p90/p99/max and errors; per client count a table of the medians over the
rounds, and with two targets the ratio first/second. Rounds alternate the targets.

Targets: ``mailroom`` (started from this checkout by bench/imap_mailroom.py with the
accounts, argon2id hashes as Dovecot's ARGON2ID and the connection limits raised),
``reference`` (the Dovecot of bench/reference/ on 127.0.0.1:12143) and
``NAME=HOST:PORT`` (e.g. a bench/checkout_host.py host). Loopback only.

Usage: see bench/README.md ("IMAP under load"), or ``python bench/imap_load.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
import imap_memory
import imap_messages
from imap_bench import raise_fd_limit
from imap_client import ImapConnection, ImapError, describe, quote
from imap_load_check import Registry
from imap_load_mix import WEIGHTS, Client, MixConfig, RunStats
from imap_load_report import (
    RunResult,
    medians,
    print_cpu,
    print_run,
    print_table,
    run_result,
)
from imap_messages import BenchMessage
from loopback import host_and_port, require_loopback
from mailbox_fill import append_messages, logged_in, must

T = TypeVar("T")
REFERENCE_DIR = Path("/tmp/mailroom-reference")  # noqa: S108 - bench/reference/start's default
REFERENCE_PORT = 12143
DOMAIN = "example.test"
SETUP_CONCURRENCY = 5  # accounts filled or cleaned at once
SETUP_TIMEOUT_S = 600.0
START_LOGINS = 20  # first LOGINs in flight at once: Dovecot's one auth process hashes in turn
START_BOUND_S = 900.0  # all first LOGINs (200 argon2id hashes on a busy 2-CPU machine)


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    passwords: str
    """How the target stores the accounts' passwords, for the report."""
    pid: int | None = None
    """The root of its process tree, for the server's CPU time; None: not measured."""


@dataclass(frozen=True)
class Plan:
    clients: tuple[int, ...]
    accounts: tuple[str, ...]
    password: str
    folders: int
    fill_min: int
    fill_max: int
    duration_s: float
    rounds: int
    seed: int
    command_timeout_s: float
    idle_bound_s: float
    owner_slots: int
    weights: tuple[tuple[str, int], ...]


# --------------------------------------------------------------------------- targets


def reference_passwords(directory: Path = REFERENCE_DIR) -> str:
    """The scheme of the reference's passwd-file and Dovecot's auth cache setting."""
    users = directory / "dovecot" / "users"
    try:
        stored = users.read_text().splitlines()[0].split(":")[1]
    except (OSError, IndexError):
        stored = "unknown (cannot read the passwd-file)"
    scheme = "$".join(stored.split("$")[:4]) if stored.startswith("{ARGON2ID}") else stored
    if stored.startswith("{PLAIN}"):
        scheme = "{PLAIN} — NOT the argon2id Mailroom uses: start the reference with "
        scheme += "REFERENCE_PASSWORD_SCHEME=ARGON2ID for the same cost per login"
    doveconf = shutil.which("doveconf")
    cache = "?"
    if doveconf is not None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            conf = str(directory / "dovecot" / "dovecot.conf")
            cache = subprocess.run(  # noqa: S603 - Dovecot's own tool, fixed arguments
                [doveconf, "-c", conf, "-h", "auth_cache_size"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
    return f"{scheme}; auth_cache_size = {cache or '?'} ({'off' if cache == '0' else 'on'})"


def server_cpu_seconds(target: Target) -> float | None:
    if target.pid is None:
        return None
    return imap_memory.cpu_seconds(target.pid)


def parse_target(text: str) -> Target | str | int:
    """``reference`` by name; ``mailroom`` (or ``mailroom:N``, with ``[server] workers =
    N``), started later, as its number of processes; else ``NAME=HOST:PORT`` on loopback."""
    if text == "reference":
        return text
    if text == "mailroom":
        return 1
    if text.startswith("mailroom:") and text[9:].isdigit() and 1 <= int(text[9:]) <= 64:
        return int(text[9:])
    name, sep, address = text.partition("=")
    address, at, pid_text = address.partition("@")
    split = host_and_port(address) if sep else None
    if split is None or (at and not pid_text.isdigit()):
        raise argparse.ArgumentTypeError(
            f"target {text!r}: mailroom[:N], reference or NAME=HOST:PORT[@PID]"
        )
    require_loopback(split[0], f"target {text!r}")
    return Target(
        name,
        split[0],
        split[1],
        "not known here (checkout_host.py: cheap argon2id unless --hashes dovecot)",
        int(pid_text) if at else None,
    )


# --------------------------------------------------------------------------- one run


def folder_names(tag: str, plan: Plan) -> tuple[str, ...]:
    return tuple(f"Load{tag}-{chr(ord('a') + i)}" for i in range(plan.folders))


def fill_count(plan: Plan, account: int, folder: int) -> int:
    rng = random.Random(f"{plan.seed}:{account}:{folder}")  # noqa: S311 - same on every target
    return rng.randint(plan.fill_min, plan.fill_max)


async def for_accounts(
    plan: Plan, target: Target, work: Callable[[ImapConnection, int], Awaitable[None]]
) -> None:
    """``work(conn, index)`` for every account, a few accounts at once, each logged in."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(index: int, account: str) -> None:
        async with gate:
            conn = await logged_in(
                target.host, target.port, account, plan.password, SETUP_TIMEOUT_S
            )
            try:
                await work(conn, index)
            finally:
                await conn.logout()

    await asyncio.gather(*(one(i, a) for i, a in enumerate(plan.accounts)))


async def prefill(
    plan: Plan, target: Target, folders: tuple[str, ...], corpus: list[BenchMessage]
) -> int:
    """New folders in every account, the same messages in each on every target."""
    total = 0

    async def fill(conn: ImapConnection, index: int) -> None:
        nonlocal total
        for number, folder in enumerate(folders):
            await must(conn, f"CREATE {quote(folder)}")
            count = fill_count(plan, index, number)
            await append_messages(conn, folder, corpus[:count])
            total += count

    await for_accounts(plan, target, fill)
    return total


async def delete_folders(plan: Plan, target: Target, folders: tuple[str, ...]) -> None:
    async def delete(conn: ImapConnection, index: int) -> None:
        for folder in folders:
            await conn.command(f"DELETE {quote(folder)}", wait_s=SETUP_TIMEOUT_S)

    await for_accounts(plan, target, delete)


async def one_run(
    plan: Plan,
    target: Target,
    clients: int,
    round_no: int,
    corpus: list[BenchMessage],
) -> RunResult | None:
    tag = f"{time.strftime('%H%M%S')}{round_no}"
    folders = folder_names(tag, plan)
    try:
        started = time.perf_counter()
        messages = await prefill(plan, target, folders, corpus)
        print(
            f"  {target.name}: filled {len(plan.accounts)} accounts × {len(folders)} folders, "
            f"{messages} messages, in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        config = MixConfig(
            host=target.host,
            port=target.port,
            accounts=plan.accounts,
            password=plan.password,
            folders=folders,
            run_tag=tag,
            seed=plan.seed,
            command_timeout_s=plan.command_timeout_s,
            idle_bound_s=plan.idle_bound_s,
            owner_slots=plan.owner_slots,
            weights=plan.weights,
        )
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        registry, stats = Registry(), RunStats()
        workers = [Client(i, config, registry, stats) for i in range(clients)]
        login_began = time.perf_counter()
        gate = asyncio.Semaphore(START_LOGINS)
        await asyncio.wait_for(asyncio.gather(*(w.start(gate) for w in workers)), START_BOUND_S)
        ready = sum(w.conn is not None for w in workers)
        print(
            f"  {target.name}: {ready}/{clients} clients logged in, in "
            f"{time.perf_counter() - login_began:.1f} s; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        server_cpu = server_cpu_seconds(target)
        begin, cpu = time.perf_counter(), time.process_time()
        deadline = begin + plan.duration_s
        bound = plan.duration_s + 3 * plan.command_timeout_s + 30
        await asyncio.wait_for(asyncio.gather(*(w.run(deadline, stop) for w in workers)), bound)
        overrun = max(0.0, time.perf_counter() - deadline)
        stats.counters["client CPU ms (this benchmark's own)"] = round(
            (time.process_time() - cpu) * 1000
        )
        if server_cpu is not None and (after := server_cpu_seconds(target)) is not None:
            stats.counters["server CPU ms (its process tree)"] = round((after - server_cpu) * 1000)
        if stop.is_set():
            raise KeyboardInterrupt
        times = (plan.duration_s, overrun)
        result = run_result(target.name, clients, round_no, times, stats, registry.errors)
        print_run(result)
        return result
    except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        print(f"  {target.name}: run failed: {describe(exc)}", flush=True)
        return None
    finally:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # not SIG_DFL: clean up
        with contextlib.suppress(ImapError, OSError, TimeoutError, asyncio.IncompleteReadError):
            await delete_folders(plan, target, folders)


async def run_all(plan: Plan, targets: list[Target]) -> dict[int, list[RunResult]]:
    corpus, _ = imap_messages.generate(plan.fill_max, plan.seed)
    results: dict[int, list[RunResult]] = {}
    for clients in plan.clients:
        results[clients] = []
        for round_no in range(1, plan.rounds + 1):
            order = targets if round_no % 2 else list(reversed(targets))
            for target in order:
                print(
                    f"\n{clients} clients, round {round_no}/{plan.rounds}: {target.name}",
                    flush=True,
                )
                result = await one_run(plan, target, clients, round_no, corpus)
                if result is not None:
                    results[clients].append(result)
    return results


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="IMAP load benchmark: N clients at once on M accounts, a weighted random "
        "mix, every answer checked; commands/s, latency percentiles and errors per command.",
        epilog="Example: python bench/imap_load.py --compare --clients 10,50,200",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="mailroom[:N]|reference|NAME=HOST:PORT[@PID]",
        help="repeat to compare (the ratio is the first over the second); @PID: the "
        "server's CPU time is measured from that process tree (checkout_host.py's pid=)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="= --target mailroom --target reference"
    )
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=REFERENCE_DIR,
        help=f"the DIR given to bench/reference/start ({REFERENCE_DIR})",
    )
    parser.add_argument(
        "--reference-port",
        type=int,
        default=REFERENCE_PORT,
        help=f"its REFERENCE_IMAP_PORT ({REFERENCE_PORT})",
    )
    parser.add_argument("--clients", default="10", help="client counts, e.g. 10,50,200 (10)")
    parser.add_argument(
        "--accounts", type=int, default=20, help=f"user0..user{{M-1}}@{DOMAIN} (20)"
    )
    parser.add_argument("--password", default="demo", help="every account's password (demo)")
    parser.add_argument(
        "--folders", type=int, default=3, help="new folders per account per run (3)"
    )
    parser.add_argument("--fill", default="50-300", help="messages per folder, MIN-MAX (50-300)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per run (15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target and count (3)")
    parser.add_argument("--seed", type=int, default=1, help="mix and corpus seed (1)")
    parser.add_argument("--command-timeout", type=float, default=30.0, help="one command (30 s)")
    parser.add_argument("--idle-bound", type=float, default=1.0, help="longest IDLE (1 s)")
    parser.add_argument(
        "--owner-slots",
        type=int,
        default=10,
        help="owner keywords per account ($owner1..): sessions holding one check FLAGS (10)",
    )
    parser.add_argument(
        "--weights",
        default="",
        metavar="NAME=W,...",
        help="change the mix's weights (imap_load_mix.WEIGHTS), e.g. idle=0,relogin=0",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on any error")
    parser.add_argument("--keep-mailroom-dir", action="store_true")
    parser.add_argument("--json", type=Path, help="every run and the medians, for scripts")
    return parser


def plan_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Plan:
    try:
        clients = tuple(int(c) for c in args.clients.split(","))
        low, _, high = args.fill.partition("-")
        fill_min, fill_max = int(low), int(high or low)
    except ValueError:
        parser.error("--clients is N[,N...], --fill is MIN-MAX")
    checks = [
        (all(1 <= c <= 2000 for c in clients), "--clients must be 1..2000 each"),
        (1 <= args.accounts <= 100, "--accounts must be 1..100 (the reference has user0..99)"),
        (1 <= args.folders <= 26 and 1 <= fill_min <= fill_max <= 5000, "--folders/--fill"),
        (0 < args.duration <= 3600 and 1 <= args.rounds <= 20, "--duration/--rounds"),
        (args.command_timeout > 0 and 0 < args.idle_bound <= 60, "timeouts must be positive"),
        (0 <= args.owner_slots <= 20, "--owner-slots must be 0..20 (26 keywords a mailbox)"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return Plan(
        clients=clients,
        accounts=tuple(f"user{i}@{DOMAIN}" for i in range(args.accounts)),
        password=args.password,
        folders=args.folders,
        fill_min=fill_min,
        fill_max=fill_max,
        duration_s=args.duration,
        rounds=args.rounds,
        seed=args.seed,
        command_timeout_s=args.command_timeout,
        idle_bound_s=args.idle_bound,
        owner_slots=args.owner_slots,
        weights=weights_from(args.weights, parser),
    )


def weights_from(text: str, parser: argparse.ArgumentParser) -> tuple[tuple[str, int], ...]:
    """The default mix with ``NAME=W,...`` changed (``idle=0,relogin=0``: neither)."""
    weights = dict(WEIGHTS)
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in weights or not value.isdigit():
            parser.error(f"--weights: {item!r}: NAME=W with NAME one of {', '.join(WEIGHTS)}")
        weights[name] = int(value)
    if not any(weights.values()):
        parser.error("--weights: all zero")
    return tuple(weights.items())


def run_loop(main: Coroutine[None, None, T]) -> T:
    """uvloop when installed (Mailroom's venv has it): less of the client's CPU per
    command, on the same CPUs as the servers."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def start_mailroom(
    plan: Plan, keep: bool, workers: int
) -> tuple[Target, imap_mailroom.RunningMailroom]:
    hashes = imap_mailroom.DOVECOT_ARGON2ID
    print("starting Mailroom from this checkout (accounts added with the CLI)…", flush=True)
    running = imap_mailroom.start(
        list(plan.accounts),
        plan.password,
        max_connections=max(plan.clients) + 100,
        keep_dir=keep,
        hashes=hashes,
        workers=workers,
    )
    print(f"  serving IMAP on 127.0.0.1:{running.port}, pid {running.pid}, in {running.directory}")
    note = (
        f"argon2id m={hashes.memory_kib},t={hashes.time_cost},p={hashes.parallelism}; "
        f"its login cache on (the default); {workers} worker process(es)"
    )
    name = "mailroom" if workers == 1 else f"mailroom-w{workers}"
    return Target(name, "127.0.0.1", running.port, note, running.pid), running


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    plan = plan_from_args(args, parser)
    try:
        wanted = [
            parse_target(t) for t in (["mailroom", "reference"] if args.compare else args.target)
        ]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not wanted:
        parser.error("give --target or --compare")
    raise_fd_limit(2 * max(plan.clients) + 1024)  # the Mailroom started here inherits it
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    mailrooms: list[imap_mailroom.RunningMailroom] = []
    try:
        targets: list[Target] = []
        for item in wanted:
            if isinstance(item, int):
                target, running = start_mailroom(plan, args.keep_mailroom_dir, item)
                mailrooms.append(running)
            elif item == "reference":
                master = args.reference_dir / "dovecot" / "run" / "master.pid"
                pid: int | None = None
                with contextlib.suppress(OSError, ValueError):
                    pid = imap_memory.read_pid_file(master)
                passwords = reference_passwords(args.reference_dir)
                port = args.reference_port
                target = Target("dovecot", "127.0.0.1", port, passwords, pid)
            else:
                assert isinstance(item, Target)
                target = item
            targets.append(target)
        print(
            f"imap_load: clients {','.join(map(str, plan.clients))} on {len(plan.accounts)} "
            f"accounts, {plan.duration_s:.0f} s a run, {plan.rounds} round(s), seed {plan.seed}; "
            f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}"
        )
        for target in targets:
            print(f"  {target.name} 127.0.0.1:{target.port}: passwords {target.passwords}")
        try:
            results = run_loop(run_all(plan, targets))
        except KeyboardInterrupt:
            print("\ninterrupted: the current run's folders may be left", flush=True)
            return 130
    finally:
        for running in mailrooms:
            imap_mailroom.stop(running, keep_dir=args.keep_mailroom_dir)
    summaries = {}
    for clients, runs in results.items():
        summary = {t.name: medians([r for r in runs if r.target == t.name]) for t in targets}
        summaries[clients] = summary
        print_table(
            f"{clients} clients on {len(plan.accounts)} accounts, {plan.duration_s:.0f} s, "
            f"median of {plan.rounds} round(s) (errors: sum over rounds)",
            summary,
        )
        print_cpu(summary, [r for r in runs])
    failures = sum(r.failures for runs in results.values() for r in runs)
    print(f"\nerrors (consistency, NO/BAD, dropped, timeouts) over all runs: {failures}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "plan": asdict(plan),
                    "targets": [asdict(t) for t in targets],
                    "runs": [asdict(r) for runs in results.values() for r in runs],
                    "medians": summaries,
                },
                indent=2,
            )
            + "\n"
        )
    missing = sum(len(targets) * plan.rounds - len(runs) for runs in results.values())
    return 1 if missing or (args.strict and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
