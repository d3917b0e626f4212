"""Serve the Mailroom of another checkout, for a before/after comparison in one run.

    python bench/checkout_host.py CHECKOUT NAME

CHECKOUT is a git worktree with its own .venv (e.g. `git worktree add /tmp/before
f872af1`, then `python3 -m venv .venv && .venv/bin/pip install -e .` there). The host
is made with that checkout's own bench/imap_mailroom.py (so its config suits that
version), with accounts alice, bob and user0..user9@example.test (password demo;
``--accounts 20`` for user0..user19, as imap_load.py needs) and IMAP, POP3 and SMTP
listeners on free 127.0.0.1 ports. ``--hashes dovecot`` gives the accounts argon2id
hashes as costly as the reference Dovecot's ARGON2ID (imap_load.py's Mailroom has them;
that checkout's bench/imap_mailroom.py must know ``DOVECOT_ARGON2ID``); the default is
that checkout's cheap ones. One line says where:

    before pid=… imap=… pop3=… smtp=… dir=…

Give those to `imap_bench.py`, `pop3_bench.py` and `smtp_ingest.py` as one more
`--target` (two of these, one per checkout, make the comparison symmetric). The host
serves until this script's standard input closes (or SIGINT/SIGTERM), then stops by
its PID; its directory is left for a look and can be removed.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import subprocess
import sys
import time
from pathlib import Path

FIXED_ACCOUNTS = ["alice@example.test", "bob@example.test"]
PASSWORD = "demo"  # noqa: S105 - the benchmarks' well-known demo password
CONNECTIONS = 400
START_WAIT_S = 4.0


def smtp_listener(port: int) -> str:
    return f"""
[[listeners]]
name = "smtp"
protocol = "smtp"
address = "127.0.0.1:{port}"
tls = "starttls"
max_connections_per_ip = {CONNECTIONS}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout with its own .venv")
    parser.add_argument("name", help="the name printed, for --target NAME=…")
    parser.add_argument("--accounts", type=int, default=10, help="user0..user{N-1} (10)")
    parser.add_argument("--hashes", choices=("cheap", "dovecot"), default="cheap")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="[server] workers (1); needs a checkout whose bench/imap_mailroom.py takes workers",
    )
    args = parser.parse_args()
    if not 1 <= args.accounts <= 100:
        parser.error("--accounts must be 1..100")
    checkout = args.checkout.resolve()
    sys.path.insert(0, str(checkout / "bench"))
    made_by = importlib.import_module("imap_mailroom")  # that checkout's own
    accounts = FIXED_ACCOUNTS + [f"user{i}@example.test" for i in range(args.accounts)]
    options = {}
    if args.hashes == "dovecot":
        if not hasattr(made_by, "DOVECOT_ARGON2ID"):
            parser.error(f"{checkout}/bench/imap_mailroom.py cannot set the hashes' cost")
        options["hashes"] = made_by.DOVECOT_ARGON2ID
    if args.workers != 1:
        options["workers"] = args.workers
    # Its start() makes the directory, the accounts and the IMAP and POP3 listeners;
    # the server is then restarted with an SMTP listener added.
    first = made_by.start(
        accounts, PASSWORD, max_connections=CONNECTIONS, keep_dir=True, pop3=True, **options
    )
    made_by.stop(first, keep_dir=True)
    smtp_port = made_by.free_loopback_port()
    config = first.directory / "mailroom.toml"
    config.write_text(config.read_text() + smtp_listener(smtp_port))
    binary = checkout / ".venv" / "bin" / "mailroom"
    with (first.directory / "serve.log").open("ab") as log:
        server = subprocess.Popen(  # noqa: S603 - that checkout's entry point, fixed arguments
            [str(binary), "-c", str(config), "serve", *made_by.root_flag(binary)]
            if hasattr(made_by, "root_flag")
            else [str(binary), "-c", str(config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        time.sleep(START_WAIT_S)
        if server.poll() is not None:
            print(f"{args.name}: mailroom serve exited; see {first.directory}/serve.log")
            return 1
        print(
            f"{args.name} pid={server.pid} imap={first.port} pop3={first.pop3_port} "
            f"smtp={smtp_port} dir={first.directory}",
            flush=True,
        )
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
