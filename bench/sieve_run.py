"""The Sieve interpreter alone: what compiling bench/sieve_rules.sieve costs, and what
running it costs per message, for each kind of bench/sieve_mail.py's mail (no SMTP, no
disk: `mailroom.sieve.compile_script` and `run` in this process).

    .venv/bin/python bench/sieve_run.py [--repeat 50] [--profile 15]

Prints the compile time, the mean time of one run over all kinds, the fastest and
slowest kinds, and with --profile the functions that took most of the time (cProfile,
by own time). Where sieve_ingest.py says what the script costs a delivery, this says how
much of it is the interpreter's.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sieve_mail import FOLDERS, KINDS, message

from mailroom.sieve import Script, SieveLimits, compile_script, run
from mailroom.sieve.context import (
    Envelope,
    MessageSource,
    RunContext,
    ScriptScope,
)

SCRIPT = Path(__file__).resolve().parent / "sieve_rules.sieve"
RECIPIENT = "user0@example.test"
SENDER = "bench@bench.mailroom.test"


class Folders:
    def exists(self, name: str) -> bool:
        return name == "INBOX" or name in FOLDERS


class NoDuplicates:
    def seen(self, handle: str, value: str) -> bool:
        return False


class NoIncludes:
    def load(self, scope: ScriptScope, name: str) -> bytes | None:
        return None


def contexts(body_size: int) -> list[RunContext]:
    """One run context per kind of message, as delivery would build it."""
    body = b"x" * 76 + b"\r\n"
    body *= max(1, body_size // len(body))
    made = []
    for index in range(len(KINDS)):
        raw = message(body, SENDER, [RECIPIENT], "sieve_run", index)
        split = raw.index(b"\r\n\r\n") + 2
        rest = raw[split + 2 :]
        made.append(
            RunContext(
                envelope=Envelope(SENDER, RECIPIENT),
                message=MessageSource(raw[:split], len(raw), lambda limit, b=rest: b[:limit]),
                folders=Folders(),
                duplicates=NoDuplicates(),
                includes=NoIncludes(),
                own_addresses=(RECIPIENT,),
                now=datetime.now(UTC),
                hostname="bench.mailroom.test",
            )
        )
    return made


def time_runs(script: Script, context: RunContext, limits: SieveLimits, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        run([script], context, limits)
    return (time.perf_counter() - started) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="runs per kind (50)")
    parser.add_argument("--size", type=int, default=4000, help="body size (4000)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="top N functions")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 10_000:
        parser.error("--repeat must be 1..10000")
    limits = SieveLimits()
    source = SCRIPT.read_bytes()
    started = time.perf_counter()
    script = compile_script(source, name=SCRIPT.stem, limits=limits)
    print(f"compile {SCRIPT.name}: {(time.perf_counter() - started) * 1000:.2f} ms")
    made = contexts(args.size)
    for context in made:  # first runs: imports, caches
        run([script], context, limits)
    per_kind = [
        (time_runs(script, context, limits, args.repeat), kind.name)
        for context, kind in zip(made, KINDS, strict=True)
    ]
    mean = statistics.fmean(t for t, _ in per_kind)
    per_kind.sort()
    print(f"run: {mean * 1e6:.0f} µs per message, mean over {len(KINDS)} kinds")
    print("fastest: " + ", ".join(f"{name} {t * 1e6:.0f} µs" for t, name in per_kind[:3]))
    print("slowest: " + ", ".join(f"{name} {t * 1e6:.0f} µs" for t, name in per_kind[-3:]))
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(10):
            for context in made:
                run([script], context, limits)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
