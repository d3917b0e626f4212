"""IMAP benchmark: how long do the commands a mail client sends take, and how much
memory does a session in IDLE cost the server?

For each target (or, with --compare, a Mailroom started from this checkout and
the reference Dovecot of bench/reference/, in alternating rounds):

1. fill a new folder with M varied messages (bench/imap_messages.py), by APPEND
   (MULTIAPPEND or pipelined with LITERAL+ when offered) or, with --fill maildir,
   by writing the files straight into the account's Maildir; not measured;
2. R rounds (bench/imap_round.py), each on a new connection after LOGIN, timing
   each command from the moment it is sent to its tagged reply (all untagged data
   read): SELECT; FETCH 1:* (FLAGS); UID FETCH 1:* (UID FLAGS RFC822.SIZE
   INTERNALDATE ENVELOPE), a client's first sync; FETCH 1:B BODY.PEEK[]; UID
   SEARCH FROM, SUBJECT (header substrings) and BODY (text); STORE 1:* +FLAGS
   (\\Seen) and -FLAGS; COPY 1:K; MOVE of the last K; EXPUNGE of the last K
   marked \\Deleted. What a round changes is undone after it, untimed, so every
   round starts from the same mailbox (same messages, order, flags; only the
   UIDs of the last K grow);
3. memory per idle session (bench/imap_idle.py): N connections, each logged in
   (over many accounts, so per-user limits do not apply), INBOX selected, in
   IDLE; the server's memory (PSS summed over its process tree,
   bench/imap_memory.py) before and after, divided by N.

Prints one table: per operation the median over rounds (min–max), per target,
and the ratio first/second (with --compare: Mailroom/Dovecot; lower is better).

Only loopback addresses are accepted: this is a load generator. Every loop is
bounded in count and every wait in time. What the script creates (folders,
a Mailroom process and its temporary directory) it removes, by name and PID.

Usage: see bench/README.md, or ``python bench/imap_bench.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
import imap_messages
from imap_client import ImapError, describe
from imap_idle import IdleLoad, IdleResult, idle_memory, print_idle
from imap_round import (
    OPERATIONS,
    Folders,
    Load,
    RoundResult,
    Target,
    connect,
    delete_folders,
    fill,
    print_round,
    run_round,
)
from loopback import host_and_port, require_loopback
from summary import summarize, table_rows

REFERENCE_DIR = Path("/tmp/mailroom-reference")  # noqa: S108 - bench/reference/start's default
REFERENCE_PORT = 12143
BENCH_DOMAIN = "example.test"


# --------------------------------------------------------------------------- targets


def parse_target(text: str, index: int, user: str, password: str) -> Target:
    """``[NAME=]HOST:PORT[,user=U][,password=P][,pid=N|pidfile=PATH][,maildir=PATH]``."""
    head, *options = text.split(",")
    name, sep, address = head.partition("=")
    if not sep:
        name, address = f"target{index + 1}", head
    split = host_and_port(address)
    if split is None:
        raise argparse.ArgumentTypeError(
            f"target {text!r}: expected [NAME=]HOST:PORT[,user=…,password=…,pid=…|pidfile=…,"
            "maildir=…], e.g. reference=127.0.0.1:12143,"
            "pidfile=/tmp/mailroom-reference/dovecot/run/master.pid"
        )
    host, port = split
    require_loopback(host, f"target {text!r}")
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in ("user", "password", "pid", "pidfile", "maildir"):
            raise argparse.ArgumentTypeError(f"target {text!r}: unknown option {option!r}")
        values[key] = value
    if "pid" in values and not values["pid"].isdigit():
        raise argparse.ArgumentTypeError(f"target {text!r}: pid must be a number")
    return Target(
        name=name,
        host=host,
        port=port,
        user=values.get("user", user),
        password=values.get("password", password),
        pid=int(values["pid"]) if "pid" in values else None,
        pidfile=Path(values["pidfile"]) if "pidfile" in values else None,
        maildir=Path(values["maildir"]) if "maildir" in values else None,
    )


def reference_target(user: str, password: str) -> Target:
    local = user.partition("@")[0]
    return Target(
        name="dovecot",
        host="127.0.0.1",
        port=REFERENCE_PORT,
        user=user,
        password=password,
        pidfile=REFERENCE_DIR / "dovecot" / "run" / "master.pid",
        maildir=REFERENCE_DIR / "mail" / BENCH_DOMAIN / local / "Maildir",
    )


# --------------------------------------------------------------------------- reporting


def print_table(
    summary: dict[str, dict[str, tuple[float, float, float] | None]],
    idle: dict[str, IdleResult],
    load: Load,
) -> None:
    names = list(summary)
    label_width = max(len(op.label) for op in OPERATIONS) + 2
    col = 26
    print(
        f"\nmedian ms over {load.rounds} round(s) (min–max); M={load.messages} messages, "
        f"B={min(load.body_range, load.messages)}, K={min(load.batch, load.messages)}"
    )
    header = f"{'operation':<{label_width}}" + "".join(f"{n:>{col}}" for n in names)
    ratio_label = f"{names[0]}/{names[1]}" if len(names) >= 2 else ""
    if ratio_label:
        header += f"{ratio_label:>{max(len(ratio_label) + 2, 14)}}"
    print(header)

    rows = [(op.key, op.label) for op in OPERATIONS]
    widths = (label_width, col, max(len(ratio_label) + 2, 14))
    for line in table_rows(rows, summary, names, widths, lambda value: f"{value:.1f}"):
        print(line)
    if idle:
        label = f"KiB per idle connection (N={load.idle_connections})"
        row = f"{label:<{label_width}}"
        per = {n: (idle[n].kib_per_connection if n in idle else None) for n in names}
        row += "".join(f"{'—' if per[n] is None else f'{per[n]:.1f}':>{col}}" for n in names)
        if ratio_label:
            mine, theirs = per[names[0]], per[names[1]]
            ratio = (
                "—" if mine is None or theirs is None or theirs == 0 else f"{mine / theirs:.3f}×"
            )
            row += f"{ratio:>{max(len(ratio_label) + 2, 14)}}"
        print(row)
    print("(ratio: lower is better for the first target)")


# --------------------------------------------------------------------------- orchestration


async def run(
    targets: list[Target], load: Load, run_id: str
) -> tuple[list[RoundResult], dict[str, IdleResult], list[str]]:
    problems: list[str] = []
    print(f"generating {load.messages} messages (seed {load.seed})", flush=True)
    messages, counts = imap_messages.generate(load.messages, load.seed)
    sizes = [len(m.data) for m in messages]
    print(
        f"  {sum(sizes) / 1024 / 1024:.1f} MiB, {min(sizes)}–{max(sizes)} B each "
        f"(median {statistics.median(sizes):.0f}); planted: FROM {counts.from_term}, "
        f"SUBJECT {counts.subject_term}, BODY {counts.body_term}"
    )
    expected_hits = {
        "search_from": counts.from_term,
        "search_subject": counts.subject_term,
        "search_body": counts.body_term,
    }
    folders = Folders.for_run(run_id)
    ready: list[Target] = []
    for target in targets:
        print(f"\nfill {target}: {folders.main} by {load.fill}", flush=True)
        try:
            seconds = await fill(target, load, folders, messages)
        except (ImapError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            problems.append(f"{target.name}: fill failed: {describe(exc)}")
            print(f"  failed: {describe(exc)}")
            continue
        print(f"  {load.messages} messages in {seconds:.1f} s")
        ready.append(target)

    results: list[RoundResult] = []
    idle: dict[str, IdleResult] = {}
    try:
        total = load.warmup_rounds + load.rounds
        for round_no in range(1, total + 1):
            warm = round_no <= load.warmup_rounds
            # Alternate which target goes first, so neither always meets a warmer cache.
            order = ready if round_no % 2 else list(reversed(ready))
            for target in order:
                title = (
                    "warm-up" if warm else f"round {round_no - load.warmup_rounds}/{load.rounds}"
                )
                print(f"\n{title}: {target}", flush=True)
                result = await run_round(target, load, folders, round_no - load.warmup_rounds)
                print_round(result)
                for key, hits in result.search_hits.items():
                    if hits != expected_hits[key]:
                        result.errors.append(
                            f"{key}: {hits} hits, the corpus has {expected_hits[key]}"
                        )
                        print(f"  note: {key} found {hits}, the corpus has {expected_hits[key]}")
                if not warm:
                    results.append(result)
                elif result.errors:
                    problems.append(f"{target.name} warm-up: {'; '.join(result.errors)}")
        if load.idle_connections:
            idle_load = IdleLoad(
                load.idle_connections,
                load.idle_users,
                load.idle_password,
                load.idle_mailbox,
                load.idle_timeout_s,
            )
            for target in ready:
                print(
                    f"\nidle sessions: {target.name}, {load.idle_connections} connections over "
                    f"{len(load.idle_users)} accounts, {load.idle_mailbox} selected, IDLE",
                    flush=True,
                )
                idle[target.name] = await idle_memory(
                    target.name, target.host, target.port, target.server_pid(), idle_load
                )
                print_idle(idle[target.name])
    finally:
        for target in ready:
            with contextlib.suppress(ImapError, OSError, TimeoutError, asyncio.IncompleteReadError):
                conn = await connect(target, load)
                await delete_folders(conn, folders.all())
                await conn.logout()
    return results, idle, problems


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    if new_soft < wanted:
        print(
            f"note: open files limited to {new_soft} (hard limit); fewer idle sessions fit",
            file=sys.stderr,
        )


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="IMAP benchmark: command times on an M-message mailbox, and server "
        "memory per session in IDLE.",
        epilog="Examples: python bench/imap_bench.py --compare ; python bench/imap_bench.py "
        "--target dovecot=127.0.0.1:12143,pidfile=/tmp/mailroom-reference/dovecot/run/master.pid",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="[NAME=]HOST:PORT[,user=U,password=P,pid=N|pidfile=F,maildir=D]",
        help="an IMAP server on loopback; pid/pidfile: the root of its process tree (for "
        "memory); maildir: the user's Maildir (for --fill maildir). Repeat to compare: the "
        "ratio is the first over the second",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="start a Mailroom from this checkout (temporary directory, IMAP on a free "
        "127.0.0.1 port) and compare it with the reference Dovecot on 127.0.0.1:12143",
    )
    parser.add_argument("--user", default=f"alice@{BENCH_DOMAIN}", help="login of the fill user")
    parser.add_argument("--password", default="demo", help="password of every account (demo)")
    parser.add_argument("-m", "--messages", type=int, default=10_000, help="mailbox size (10000)")
    parser.add_argument("-r", "--rounds", type=int, default=5, help="timed rounds (5)")
    parser.add_argument(
        "--warmup-rounds", type=int, default=1, help="untimed rounds first, per target (1)"
    )
    parser.add_argument(
        "--body-range", type=int, default=500, help="B of FETCH 1:B BODY.PEEK[] (500)"
    )
    parser.add_argument(
        "--batch", type=int, default=1000, help="K messages of COPY, MOVE, EXPUNGE (1000)"
    )
    parser.add_argument(
        "--fill",
        choices=("append", "maildir"),
        default="append",
        help="APPEND over IMAP, or write files into each target's maildir= (append)",
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "-n",
        "--idle-connections",
        type=int,
        default=2000,
        help="sessions in IDLE for the memory figure; 0 skips it (2000)",
    )
    parser.add_argument(
        "--idle-accounts",
        type=int,
        default=100,
        help=f"the sessions log in as user0..user{{A-1}}@{BENCH_DOMAIN} in turn (100)",
    )
    parser.add_argument("--idle-mailbox", default="INBOX", help="mailbox selected before IDLE")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        help="seconds allowed for opening all idle sessions (600)",
    )
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=300.0,
        help="seconds one timed command may take (300)",
    )
    parser.add_argument(
        "--keep-mailroom-dir", action="store_true", help="leave --compare's Mailroom directory"
    )
    parser.add_argument("--json", type=Path, help="also write every round and the summary here")
    return parser


def load_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Load:
    checks = [
        (1 <= args.messages <= 1_000_000, "--messages must be 1..1000000"),
        (1 <= args.rounds <= 50, "--rounds must be 1..50"),
        (0 <= args.warmup_rounds <= 10, "--warmup-rounds must be 0..10"),
        (args.body_range >= 1 and args.batch >= 1, "--body-range and --batch must be ≥ 1"),
        (0 <= args.idle_connections <= 20_000, "--idle-connections must be 0..20000"),
        (1 <= args.idle_accounts <= 10_000, "--idle-accounts must be 1..10000"),
        (args.idle_timeout > 0 and args.command_timeout > 0, "timeouts must be positive"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return Load(
        messages=args.messages,
        rounds=args.rounds,
        warmup_rounds=args.warmup_rounds,
        body_range=args.body_range,
        batch=args.batch,
        fill=args.fill,
        seed=args.seed,
        idle_connections=args.idle_connections,
        idle_users=tuple(f"user{i}@{BENCH_DOMAIN}" for i in range(args.idle_accounts)),
        idle_password=args.password,
        idle_mailbox=args.idle_mailbox,
        idle_timeout_s=args.idle_timeout,
        command_timeout_s=args.command_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load = load_from_args(args, parser)
    try:
        targets = [
            parse_target(text, i, args.user, args.password) for i, text in enumerate(args.target)
        ]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not targets and not args.compare:
        parser.error("give --target or --compare")
    if len({t.name for t in targets}) != len(targets):
        parser.error("targets need distinct names: NAME=HOST:PORT")
    if load.fill == "maildir" and not args.compare:
        for target in targets:
            if target.maildir is None:
                parser.error(f"--fill maildir needs maildir= on target {target.name}")
    raise_fd_limit(load.idle_connections + 1024)
    # SIGTERM ends the run like Ctrl-C does, so the cleanup below still happens.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    run_id = time.strftime("%Y%m%dT%H%M%S")
    problems: list[str] = []
    mailroom: imap_mailroom.RunningMailroom | None = None
    try:
        if args.compare:
            if not any(t.name == "dovecot" for t in targets):
                targets.append(reference_target(args.user, args.password))
            print("starting Mailroom from this checkout (accounts added with the CLI)…", flush=True)
            try:
                mailroom = imap_mailroom.start(
                    [args.user, *load.idle_users],
                    args.password,
                    max_connections=load.idle_connections + 100,
                    keep_dir=args.keep_mailroom_dir,
                )
            except imap_mailroom.MailroomNotServing as exc:
                problems.append(f"mailroom: {exc}")
                print(f"  Mailroom is not measured: {exc}", flush=True)
            else:
                print(
                    f"  mailroom serving IMAP on 127.0.0.1:{mailroom.port}, pid {mailroom.pid}, "
                    f"in {mailroom.directory}"
                )
                targets.insert(
                    0,
                    Target(
                        name="mailroom",
                        host="127.0.0.1",
                        port=mailroom.port,
                        user=args.user,
                        password=args.password,
                        pid=mailroom.pid,
                        maildir=mailroom.maildir(args.user),
                    ),
                )
        print(
            f"imap_bench: {len(targets)} target(s), {load.rounds} round(s); client "
            f"{sys.implementation.name} {sys.version.split()[0]} on {os.cpu_count()} CPU(s), "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        try:
            results, idle, run_problems = asyncio.run(run(targets, load, run_id))
        except KeyboardInterrupt:
            print("\ninterrupted (Ctrl-C or SIGTERM): the run's folders were deleted", flush=True)
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
        {t.name: [r.ms for r in results if r.target == t.name] for t in targets},
        [item.key for item in OPERATIONS],
    )
    print_table(summary, idle, load)
    for problem in problems:
        print(f"problem: {problem}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "load": asdict(replace(load, idle_users=())),
                    "rounds": [asdict(r) for r in results],
                    "median_min_max_ms": summary,
                    "idle": {
                        name: {**asdict(r), "kib_per_connection": r.kib_per_connection}
                        for name, r in idle.items()
                    },
                    "problems": problems,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    failed = problems or any(r.errors for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
