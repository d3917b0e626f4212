"""Sieve ingest benchmark: what does a member's 30-rule filter cost at delivery?

Three setups in one run, in alternating rounds, with the same mail (bench/sieve_mail.py)
and the same script (bench/sieve_rules.sieve):

- ``mailroom+sieve``: Mailroom (this checkout, started here) delivering to accounts whose
  active script is the 30-rule one (Pigeonhole's layout in each account's home);
- ``mailroom``: the same Mailroom process, accounts of another domain without a script;
- ``reference+sieve``: Postfix → LMTP → Dovecot with Pigeonhole running the same script
  (bench/reference/start with REFERENCE_SIEVE; ``--start-reference`` does it);
- ``reference`` (only when asked for with ``--setups``): the same reference, accounts
  user50.. without a script (Pigeonhole loaded, nothing to run), for what the script
  costs Dovecot.

Each round is bench/smtp_ingest.py's: N messages of a few KiB at concurrency C over SMTP,
one per connection, waiting until every accepted message is a file on disk; then the
folders are counted and compared with where the script puts each message (and with
which system flags): a setup whose mail is not where the script says fails the run.
Prints per round and as medians: delivered/s, accepted/s, latency p50/p99, and the
ratios the issue asks about (the script's cost in Mailroom: goal within 1.2× of the
scriptless figure; Mailroom against the reference: goal ahead).

Exit status: 0 when every round was clean and every folder check passed; 2 when the only
failure is that Mailroom ignored the script (a Mailroom without Sieve: its "+sieve"
figure is then pending); 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The bench directory is not a package: its modules are imported by path.
import sieve_hosts
from imap_mailroom import MailroomNotServing
from imap_mailroom import stop as stop_mailroom
from sieve_hosts import PLAIN_DOMAIN, SIEVE_DOMAIN, SetupError
from sieve_hosts import REFERENCE_SIEVE_USERS as SCRIPTLESS_FIRST
from sieve_mail import FOLDERS, FolderCounts, expected_counts, message, unfiltered_counts
from smtp_ingest import Load, RoundResult, Target, print_round, run_round, summarize

SETUPS = ("mailroom+sieve", "mailroom", "reference+sieve", "reference")
DEFAULT_SETUPS = SETUPS[:3]
PAIRS = (
    ("mailroom+sieve", "mailroom"),
    ("mailroom+sieve", "reference+sieve"),
    ("mailroom", "reference+sieve"),
    ("reference+sieve", "reference"),
    ("mailroom", "reference"),
)
SCRIPT_COST_GOAL = 1.2
"""Issue #15: Mailroom with the script within 1.2× of Mailroom without (delivered/s)."""
DEFAULT_SCRIPT = Path(__file__).resolve().parent / "sieve_rules.sieve"
REFERENCE_DIR = Path("/tmp/mailroom-reference")  # noqa: S108 - bench/reference/start's default


@dataclass(frozen=True)
class Setup:
    target: Target
    load: Load
    with_script: bool


@dataclass(frozen=True)
class FolderCheck:
    setup: str
    round: int
    with_script: bool
    verdict: str
    """"ok"; "unfiltered" (Mailroom put all in INBOX without flags, though the script
    files elsewhere: it ignored the script); "mismatch"."""
    expected: dict[str, int]
    got: dict[str, int]


def label(key: tuple[str, str]) -> str:
    folder, flags = key
    return f"{folder}+{flags}" if flags else folder


def as_labels(counts: FolderCounts) -> dict[str, int]:
    return {label(key): n for key, n in sorted(counts.items()) if n}


def check_folders(
    name: str, round_no: int, with_script: bool, accepted: list[int], got: FolderCounts
) -> FolderCheck:
    expected = expected_counts(accepted) if with_script else unfiltered_counts(accepted)
    got = Counter({key: n for key, n in got.items() if n})
    if got == expected:
        verdict = "ok"
    elif with_script and name.startswith("mailroom") and got == unfiltered_counts(accepted):
        # A Mailroom without Sieve at delivery; the reference is checked to run the script.
        verdict = "unfiltered"
    else:
        verdict = "mismatch"
    return FolderCheck(name, round_no, with_script, verdict, as_labels(expected), as_labels(got))


def print_check(check: FolderCheck) -> None:
    if check.verdict == "ok":
        listed = ", ".join(f"{key} {n}" for key, n in check.got.items())
        where = "as the script says" if check.with_script else "as expected without a script"
        print(f"  folders    {where}: {listed}")
        return
    if check.verdict == "unfiltered":
        print(
            "  folders    ALL IN INBOX, no flags: this Mailroom ignored the account's script "
            "(it does not run Sieve at delivery yet); its figure is not a Sieve figure"
        )
        return
    print("  folders    NOT as the script says (folder+flags: expected → got):")
    for key in sorted(set(check.expected) | set(check.got)):
        want, have = check.expected.get(key, 0), check.got.get(key, 0)
        if want != have:
            print(f"               {key}: {want} → {have}")


async def run_setup_round(
    name: str, setup: Setup, round_no: int, run_id: str
) -> tuple[RoundResult, FolderCheck]:
    root = setup.target.maildir_root
    assert root is not None
    before = await asyncio.to_thread(sieve_hosts.folder_counts, root)
    accepted: list[int] = []

    def note(index: int, recipients: int) -> None:
        accepted.extend([index] * recipients)

    result = await run_round(setup.target, setup.load, round_no, run_id, message, note)
    after = await asyncio.to_thread(sieve_hosts.folder_counts, root)
    check = check_folders(
        name, round_no, setup.with_script, accepted, sieve_hosts.difference(after, before)
    )
    return result, check


async def run(
    setups: dict[str, Setup], rounds: int, warmup: int
) -> tuple[list[RoundResult], list[FolderCheck]]:
    run_id = time.strftime("%Y%m%dT%H%M%S")
    names = list(setups)
    checks: list[FolderCheck] = []
    if warmup:
        for name in names:
            setup = setups[name]
            print(f"warm-up: {warmup} messages to {name}")
            warm = replace(setup, load=replace(setup.load, messages=warmup))
            result, check = await run_setup_round(name, warm, 0, f"{run_id}-warmup")
            print_check(check)
            checks.append(check)
            if result.accepted == 0:
                print(f"  {name} accepted none: {result.errors}; is it running?", file=sys.stderr)
    results: list[RoundResult] = []
    for round_no in range(1, rounds + 1):
        # Each setup goes first in turn, so none always meets the warmest disk cache.
        shift = (round_no - 1) % len(names)
        for name in names[shift:] + names[:shift]:
            setup = setups[name]
            print(f"\nround {round_no}/{rounds}: {setup.target}")
            print(
                f"  {setup.load.messages} messages at concurrency {setup.load.concurrency} "
                f"over {len(setup.load.recipients)} account(s), "
                f"{'with' if setup.with_script else 'without'} the script"
            )
            result, check = await run_setup_round(name, setup, round_no, f"{run_id}-r{round_no}")
            print_round(result, setup.load)
            print_check(check)
            results.append(result)
            checks.append(check)
    return results, checks


def print_summary(
    summary: dict[str, dict[str, float | None]], results: list[RoundResult], pending: bool
) -> None:
    """The medians, and the ratios the issue asks about, of the medians and round by
    round; `pending`: Mailroom ignored the script, so its "+sieve" figures are not Sieve
    figures."""
    rounds = max((r.round for r in results), default=0)

    def cell(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    print(f"\nmedian of {rounds} round(s)")
    print(
        f"{'':<18} {'delivered/s':>12} {'accepted/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for name, row in summary.items():
        print(
            f"{name:<18} {cell(row['delivered_per_s']):>12} {cell(row['accepted_per_s']):>11} "
            f"{cell(row['latency_p50_ms']):>8} {cell(row['latency_p99_ms']):>8} "
            f"{cell(row['errors'], 0):>7}"
        )

    def ratio(a: str, b: str, key: str) -> float | None:
        if a not in summary or b not in summary:
            return None
        x, y = summary[a][key], summary[b][key]
        return None if x is None or not y else x / y

    def times(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}×"

    print("\nratios x / y (delivered/s: above 1 is x faster; latency: below 1 is x faster)")
    print(f"{'':<34} {'delivered/s':>12} {'p50':>7} {'p99':>7}")
    for x, y in PAIRS:
        throughput = ratio(x, y, "delivered_per_s")
        if throughput is None:
            continue
        cells = [times(ratio(x, y, key)) for key in ("latency_p50_ms", "latency_p99_ms")]
        line = f"{x + ' / ' + y:<34} {times(throughput):>12} {cells[0]:>7} {cells[1]:>7}"
        if (x, y) == ("reference+sieve", "reference"):
            print(f"{line}  the script costs Dovecot {1 / throughput:.2f}×")
            continue
        if (x, y) == ("mailroom+sieve", "mailroom"):
            cost = 1 / throughput
            met = cost <= SCRIPT_COST_GOAL
            line += f"  the script costs {cost:.2f}× (goal ≤ {SCRIPT_COST_GOAL:.2f}×)"
        elif (x, y) == ("mailroom+sieve", "reference+sieve"):
            met = throughput > 1
            line += "  (goal: ahead of the reference)"
        else:
            print(line)
            continue
        if pending:
            line += ": PENDING, Mailroom ignored the script"
        else:
            line += ": met" if met else ": NOT met"
        print(line)
    # Setups of one round run back to back, so their ratio moves less with the machine's
    # load than the medians, which come from different minutes.
    print("delivered/s x / y round by round:")
    for x, y in PAIRS:
        by_round = [
            a.delivered_per_s / b.delivered_per_s
            for a in results
            for b in results
            if (a.target, b.target) == (x, y)
            and a.round == b.round
            and a.delivered_per_s
            and b.delivered_per_s
        ]
        if by_round:
            print(f"  {x + ' / ' + y:<32} " + ", ".join(f"{v:.2f}×" for v in by_round))


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Sieve ingest benchmark: Mailroom with a 30-rule script, without, and "
        "Postfix → LMTP → Dovecot+Pigeonhole with the same script.",
    )
    env = os.environ.get
    parser.add_argument("-n", "--messages", type=int, default=2000, help="per round (2000)")
    parser.add_argument("-c", "--concurrency", type=int, default=20, help="connections (20)")
    parser.add_argument("--size", type=int, default=4096, help="message size in bytes (4096)")
    parser.add_argument("-k", "--accounts", type=int, default=10, help="user0..user{K-1} (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setup (3)")
    parser.add_argument("--warmup", type=int, default=100, help="messages per setup first (100)")
    parser.add_argument("--script", type=Path, default=DEFAULT_SCRIPT, help="the Sieve script")
    parser.add_argument(
        "--setups",
        default=",".join(DEFAULT_SETUPS),
        help=f"which setups, comma-separated, of {','.join(SETUPS)} "
        f"(default {','.join(DEFAULT_SETUPS)})",
    )
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=REFERENCE_DIR,
        help="the reference's DIR (bench/reference/start DIR; /tmp/mailroom-reference)",
    )
    parser.add_argument(
        "--reference-smtp-port", type=int, default=int(env("REFERENCE_SMTP_PORT", "12525"))
    )
    parser.add_argument(
        "--reference-imap-port", type=int, default=int(env("REFERENCE_IMAP_PORT", "12143"))
    )
    parser.add_argument(
        "--start-reference",
        action="store_true",
        help="run bench/reference/start with REFERENCE_SIEVE=SCRIPT first (as root), and "
        "bench/reference/stop at the end if it was not running before",
    )
    parser.add_argument("--keep-mailroom-dir", action="store_true", help="leave it for a look")
    parser.add_argument("--send-limit", type=float, default=600.0, help="seconds per round")
    parser.add_argument("--delivery-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--json", type=Path, help="every round, check and median, for scripts")
    return parser


def make_load(args: argparse.Namespace, domain: str, first: int = 0) -> Load:
    return Load(
        messages=args.messages,
        size=args.size,
        concurrency=args.concurrency,
        recipients=tuple(sieve_hosts.accounts(domain, args.accounts, first)),
        recipients_per_message=1,
        messages_per_connection=1,
        starttls=False,
        mail_from="bench@bench.mailroom.test",
        send_limit_s=args.send_limit,
        delivery_timeout_s=args.delivery_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.setups.split(",") if s.strip()]
    if not wanted or any(s not in SETUPS for s in wanted):
        parser.error(f"--setups: choose from {', '.join(SETUPS)}")
    if not 1 <= args.rounds <= 20 or not 1 <= args.messages <= 1_000_000:
        parser.error("--rounds must be 1..20 and --messages 1..1,000,000")
    if not 1 <= args.accounts <= SCRIPTLESS_FIRST or not 1 <= args.concurrency <= 1000:
        parser.error(
            f"--accounts must be 1..{SCRIPTLESS_FIRST} (the reference's user0..user"
            f"{SCRIPTLESS_FIRST - 1} have the script, user{SCRIPTLESS_FIRST}.. none) and -c 1..1000"
        )
    script = args.script.resolve()
    if not script.is_file() or not script.name.endswith(".sieve"):
        parser.error(f"--script {args.script}: not a NAME.sieve file")
    reference = sieve_hosts.Reference(
        args.reference_dir.resolve(), args.reference_smtp_port, args.reference_imap_port
    )
    print(
        f"sieve_ingest: {', '.join(wanted)}; {args.rounds} round(s) of {args.messages} messages; "
        f"script {script} ({sum(1 for _ in script.open())} lines); "
        f"client {sys.implementation.name} {sys.version.split()[0]} on {os.cpu_count()} CPU(s), "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    mailroom: sieve_hosts.BenchMailroom | None = None
    stop_reference_after = False
    setups: dict[str, Setup] = {}
    try:
        if any(s.startswith("reference") for s in wanted):
            if args.start_reference:
                stop_reference_after = sieve_hosts.start_reference(reference, script)
            users = sieve_hosts.accounts(SIEVE_DOMAIN, args.accounts)
            scriptless = sieve_hosts.accounts(SIEVE_DOMAIN, args.accounts, SCRIPTLESS_FIRST)
            sieve_hosts.check_reference(reference, script, users, scriptless)
            sieve_hosts.create_folders(reference.imap_port, users + scriptless, FOLDERS)
        if any(s.startswith("mailroom") for s in wanted):
            print("starting Mailroom from this checkout (init, accounts, serve)")
            mailroom = sieve_hosts.start_mailroom(args.accounts, script, args.keep_mailroom_dir)
            print(f"  Mailroom pid {mailroom.running.pid} in {mailroom.running.directory}")
            users = sieve_hosts.accounts(SIEVE_DOMAIN, args.accounts)
            users += sieve_hosts.accounts(PLAIN_DOMAIN, args.accounts)
            sieve_hosts.create_folders(mailroom.running.port, users, FOLDERS)
        for name in wanted:
            if name.startswith("reference"):
                # Both reference setups count below one root: only one of them sends at a
                # time, and a round counts what it added.
                target = Target(name, "127.0.0.1", reference.smtp_port, reference.domain_root)
                first = 0 if name == "reference+sieve" else SCRIPTLESS_FIRST
                load = make_load(args, SIEVE_DOMAIN, first)
                setups[name] = Setup(target, load, name == "reference+sieve")
            else:
                assert mailroom is not None
                domain = SIEVE_DOMAIN if name == "mailroom+sieve" else PLAIN_DOMAIN
                target = Target(name, "127.0.0.1", mailroom.smtp_port, mailroom.domain_root(domain))
                setups[name] = Setup(target, make_load(args, domain), name == "mailroom+sieve")
        results, checks = asyncio.run(run(setups, args.rounds, args.warmup))
    except SetupError as exc:
        print(f"sieve_ingest: {exc}", file=sys.stderr)
        return 1
    except MailroomNotServing as exc:
        print(f"sieve_ingest: Mailroom: {exc}", file=sys.stderr)
        return 1
    finally:
        if mailroom is not None:
            stop_mailroom(mailroom.running, keep_dir=args.keep_mailroom_dir)
            if args.keep_mailroom_dir:
                print(f"Mailroom's directory kept: {mailroom.running.directory}")
        if stop_reference_after:
            sieve_hosts.stop_reference(reference)

    summary = summarize(results, [s.target for s in setups.values()])
    pending = any(c.verdict == "unfiltered" for c in checks)
    print_summary(summary, results, pending)
    return report_checks(checks, results, summary, args, wanted)


def report_checks(
    checks: list[FolderCheck],
    results: list[RoundResult],
    summary: dict[str, dict[str, float | None]],
    args: argparse.Namespace,
    wanted: list[str],
) -> int:
    unfiltered = [c for c in checks if c.verdict == "unfiltered"]
    mismatched = [c for c in checks if c.verdict == "mismatch"]
    failed_rounds = [
        r for r in results if r.error_count or (r.waited_for_delivery and r.deliver_seconds is None)
    ]
    print(
        f"\nfolder checks: {sum(c.verdict == 'ok' for c in checks)} of {len(checks)} as "
        "expected (warm-up included)"
    )
    if unfiltered:
        print(
            "PENDING: this Mailroom delivered all of the script's mail to INBOX without flags "
            "in every 'mailroom+sieve' round: it does not run Sieve scripts at delivery yet, so "
            "the 'mailroom+sieve' figures above are scriptless figures, not the Sieve comparison."
        )
    if mismatched:
        names = sorted({f"{c.setup} (round {c.round})" for c in mismatched})
        print(f"FAILED: mail not where the script says in {', '.join(names)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "setups": wanted,
                    "messages": args.messages,
                    "concurrency": args.concurrency,
                    "size": args.size,
                    "accounts": args.accounts,
                    "rounds": [asdict(r) for r in results],
                    "folder_checks": [asdict(c) for c in checks],
                    "median": summary,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    if mismatched or failed_rounds:
        return 1
    return 2 if unfiltered else 0


if __name__ == "__main__":
    sys.exit(main())
