"""How long an APPEND takes for a client that sends a synchronizing literal as
Python's imaplib does: the command line with ``{n}``, a wait for the ``+``
continuation, then the literal and its line end in two separate writes, with
Nagle's algorithm on (the default).

The second write waits until the first is acknowledged. A server whose kernel
delays that acknowledgement (Linux does after the server has just answered)
makes every such APPEND wait ~40 ms on loopback; a server that asks for an
immediate acknowledgement (TCP_QUICKACK, as Dovecot does after each answer) does
not. Other clients that write a literal and its line end apart meet the same.

    python bench/imap_sync_literal.py --target mailroom=127.0.0.1:PORT \\
        --target reference=127.0.0.1:12143 [--user U --password P] [-n 200] [--rounds 3]

Per target: median and p90 of -n APPENDs (a 1 KiB message) into a new folder
that is deleted afterwards, the rounds alternating the order of the targets;
then the ratio of the medians, first over second (lower is better for the
first). Loopback addresses only.
"""

from __future__ import annotations

import argparse
import imaplib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import host_and_port, require_loopback  # the bench directory is no package

MESSAGE = b"From: a@example.test\r\nSubject: literal\r\n\r\n" + b"x" * 1000 + b"\r\n"


def target(text: str) -> tuple[str, str, int]:
    """NAME=HOST:PORT (or HOST:PORT) on this machine."""
    name, _, address = text.rpartition("=")
    parsed = host_and_port(address)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"--target {text}: expected [NAME=]HOST:PORT")
    require_loopback(parsed[0], f"--target {text}")
    return name or address, *parsed


def append_times(host: str, port: int, user: str, password: str, count: int) -> list[float]:
    """Milliseconds of `count` APPENDs with synchronizing literals (imaplib's way)."""
    folder = f"literal-{time.time_ns()}"
    with imaplib.IMAP4(host, port, timeout=60) as imap:  # LOGOUT at the end
        imap.login(user, password)
        imap.create(folder)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            status, _ = imap.append(folder, None, None, MESSAGE)
            times.append((time.perf_counter() - start) * 1000)
            if status != "OK":
                raise SystemExit(f"{host}:{port}: APPEND answered {status}")
        imap.delete(folder)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=target, action="append", required=True)
    parser.add_argument("--user", default="user0@example.test")
    parser.add_argument("--password", default="demo")
    parser.add_argument("-n", type=int, default=200, help="APPENDs per round (200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    args = parser.parse_args()
    medians: dict[str, list[float]] = {name: [] for name, _, _ in args.target}
    for round_number in range(args.rounds):
        order = args.target if round_number % 2 == 0 else list(reversed(args.target))
        for name, host, port in order:
            times = sorted(append_times(host, port, args.user, args.password, args.n))
            medians[name].append(statistics.median(times))
            p90 = times[int(len(times) * 0.9)]
            print(
                f"round {round_number + 1} {name}: APPEND p50 {statistics.median(times):.2f} ms,"
                f" p90 {p90:.2f} ms, max {times[-1]:.2f} ms"
            )
    print()
    for name, values in medians.items():
        print(f"{name}: median of round medians {statistics.median(values):.2f} ms")
    if len(medians) >= 2:
        first, second = list(medians.values())[:2]
        print(
            f"ratio {args.target[0][0]}/{args.target[1][0]}:"
            f" {statistics.median(first) / statistics.median(second):.2f}x (lower is better)"
        )


if __name__ == "__main__":
    main()
