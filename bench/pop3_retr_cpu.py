"""Server CPU per pipelined RETR, many samples: fill each target's INBOX once (over IMAP,
as pop3_bench.py does), then S sessions of RETR 1..M sent in bursts, R times over
(no DELE: the messages stay for the next session), alternating which target goes
first. Per target: the median server CPU per RETR (from /proc, `pop3_bench.tree_cpu_s`:
ns-resolution schedstat of the server's process tree) and the median messages/s.

pop3_bench.py measures one RETR 1..M per round between fills of 2,000 APPENDs; this
measures only RETR, R × M messages per sample, so a shared machine's noise averages
out over more of them. Targets as pop3_bench.py's --target, with pid= (the account's
INBOX is emptied at the end: use a benchmark account).

    python bench/pop3_retr_cpu.py -s 8 \\
        --target before=127.0.0.1:PORT,imap=127.0.0.1:PORT,pid=PID \\
        --target dovecot=127.0.0.1:24110,imap=127.0.0.1:24143,pid=/tmp/ref/dovecot/run/master.pid
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pop3_bench as pb  # the bench directory is not a package: imported by path
from pop3_client import Pop3Connection


def session(target: pb.Target, load: pb.Load, repeat: int) -> tuple[float, float]:
    """One session's (server CPU µs per RETR, RETR messages/s)."""
    root = pb.server_root(target.server)
    conn, _ = Pop3Connection.open(target.host, target.pop3_port, load.command_timeout_s)
    try:
        conn.login(target.user, target.password)
        count, _ = conn.stat()
        if count != load.messages:
            raise pb.RoundStopped(f"{target.name}: STAT {count}, expected {load.messages}")
        cpu_before, started = pb.tree_cpu_s(root), time.perf_counter()
        for _ in range(repeat):
            for numbers in pb.bursts(load.messages, load.burst):
                conn.send(*(f"RETR {n}" for n in numbers))
                for n in numbers:
                    conn.read_multiline(f"RETR {n}")
        elapsed, cpu_after = time.perf_counter() - started, pb.tree_cpu_s(root)
        conn.quit()
    finally:
        conn.close()
    if cpu_before is None or cpu_after is None:
        raise pb.RoundStopped(f"{target.name}: give pid= to measure its CPU")
    retrieved = load.messages * repeat
    return (cpu_after - cpu_before) / retrieved * 1e6, retrieved / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", required=True, help="as pop3_bench.py's")
    parser.add_argument("-s", "--sessions", type=int, default=8, help="sessions per target (8)")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="RETR 1..M per session (3)")
    parser.add_argument("-m", "--messages", type=int, default=2000, help="M (2000)")
    parser.add_argument("--burst", type=int, default=50, help="commands per burst (50)")
    parser.add_argument("--user", default=f"bob@{pb.BENCH_DOMAIN}")
    parser.add_argument("--password", default="demo")
    args = parser.parse_args()
    if not (1 <= args.sessions <= 100 and 1 <= args.repeat <= 20 and 1 <= args.burst <= 1000):
        parser.error("--sessions 1..100, --repeat 1..20, --burst 1..1000")
    if not 1 <= args.messages <= 100_000:
        parser.error("--messages 1..100000")
    targets = [
        pb.parse_target(text, i, args.user, args.password, None)
        for i, text in enumerate(args.target)
    ]
    load = pb.Load(args.messages, 1, 0, True, args.burst, 1, 60.0, 600.0)
    messages = pb.corpus(args.messages, load.seed)
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    for target in targets:
        asyncio.run(pb.fill_inbox(target, load, messages))
    samples: dict[str, list[tuple[float, float]]] = {t.name: [] for t in targets}
    try:
        for number in range(args.sessions):
            for target in targets if number % 2 else list(reversed(targets)):
                samples[target.name].append(session(target, load, args.repeat))
    finally:
        for target in targets:
            asyncio.run(pb.empty_inbox_at_end(target, load))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    for name, found in samples.items():
        cpu = [c for c, _ in found]
        rate = [r for _, r in found]
        print(
            f"{name:12} server CPU per RETR median {statistics.median(cpu):5.1f} µs "
            f"({min(cpu):.1f}–{max(cpu):.1f}); RETR msg/s median {statistics.median(rate):7.0f} "
            f"({min(rate):.0f}–{max(rate):.0f}); {len(found)} sessions"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
