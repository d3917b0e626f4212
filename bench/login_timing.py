"""Do failed logins tell which accounts exist, or which were migrated? The time of a
failed IMAP LOGIN for an unknown account, an argon2id account and accounts migrated with
MD5-crypt (`$1$`, the legacy host's) and SHA512-crypt (`$6$`) hashes.

Issue #17 measured 1,007 ms ($1$), 1,010 ms ($6$), 1,243 ms (argon2id) and 1,245-1,281
ms (unknown): a guesser could tell migrated accounts from the others. Now legacy hashes
are wrapped in argon2id at the first start, and every failed verification pays the
legacy cost of `[auth.passwords] legacy_scheme` plus argon2id (directory/passwords.py).

What it does: start a throw-away Mailroom from this checkout (`mailroom init`, one IMAP
listener on a free 127.0.0.1 port, plain-text passwords allowed from loopback, the
throttle exempting loopback so no penalty delay or ban is measured, the shipped argon2id
costs t=3, 64 MiB, p=4), with `argon@example.test` added by `mailroom user add` and
`md5@` and `sha512@` added with legacy hashes (`--password-hash`), which the server
wraps at start. Then, timed, N rounds of one failed LOGIN per kind (a new connection
each, the kinds in a shuffled order each round so that load drifts hit all alike);
only the LOGIN round trip is timed. The server's log must show the hashes wrapped and
every LOGIN failed.

Prints the median per kind and its ratio to argon2id's; "within 5%" is the criterion of
issue #17. The Mailroom is stopped by its PID and its directory removed. Usage:
``python bench/login_timing.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from passlib.hash import md5_crypt, sha512_crypt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
from imap_client import ImapConnection

PASSWORD = "the right password"  # noqa: S105 - the throw-away server's accounts
WRONG = "a wrong password"
WAIT_S = 60.0
KINDS = {
    "unknown": "nobody@example.test",
    "argon2id": "argon@example.test",
    "$1$ wrapped": "md5@example.test",
    "$6$ wrapped": "sha512@example.test",
}


def config_text(port: int, legacy_scheme: str) -> str:
    return f"""# Written by bench/login_timing.py for one run.
hostname = "bench.mailroom.test"
data_dir = "data"

[directory]
url = "sqlite:///directory.sqlite3"

[auth.passwords]
legacy_scheme = "{legacy_scheme}"

# No penalty delay and no ban for the benchmark's own failed logins.
[auth.throttle]
exempt_networks = ["127.0.0.0/8"]

[tls]
certificate = "tls/cert.pem"
key = "tls/key.pem"

[[listeners]]
name = "imap"
protocol = "imap"
address = "127.0.0.1:{port}"
tls = "starttls"
plaintext_networks = ["127.0.0.0/8"]
"""


def start(legacy_scheme: str) -> imap_mailroom.RunningMailroom:
    command = imap_mailroom.mailroom_command()
    directory = Path(tempfile.mkdtemp(prefix="mailroom-login-timing-"))
    try:
        subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
            [str(command), "init", str(directory), "--demo", "--hostname", "bench.mailroom.test"],
            capture_output=True,
            timeout=imap_mailroom.CLI_TIMEOUT_S,
            check=True,
        )
        port = imap_mailroom.free_loopback_port()
        config = directory / "mailroom.toml"
        config.write_text(config_text(port, legacy_scheme))
        run = imap_mailroom.run_cli
        run(command, config, "domain", "add", "example.test")
        stdin = f"{PASSWORD}\n".encode()
        run(command, config, "user", "add", KINDS["argon2id"], "--password-stdin", stdin=stdin)
        legacy = {
            KINDS["$1$ wrapped"]: md5_crypt.hash(PASSWORD),
            KINDS["$6$ wrapped"]: sha512_crypt.using(rounds=5000).hash(PASSWORD),
        }
        for account, stored in legacy.items():
            run(command, config, "user", "add", account, "--password-hash", stored)
        return imap_mailroom.serve(command, directory, config, port)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


async def failed_login(port: int, account: str) -> float:
    """Seconds of one LOGIN with a wrong password, on a new connection."""
    connection = await ImapConnection.open("127.0.0.1", port, WAIT_S)
    try:
        before = time.perf_counter()
        reply = await connection.command(f'LOGIN {account} "{WRONG}"')
        elapsed = time.perf_counter() - before
        if reply.ok():
            raise SystemExit(f"LOGIN {account} with a wrong password succeeded")
    finally:
        await connection.logout()
    return elapsed


async def measure(port: int, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(2):  # warm-up: first connections, the dummy hash made
        for account in KINDS.values():
            await failed_login(port, account)
    order = list(KINDS)
    shuffler = random.Random(17)  # noqa: S311 - the same orders every run; no secret
    for _ in range(rounds):
        shuffler.shuffle(order)  # no kind always first (after an idle gap) or last
        for kind in order:
            times[kind].append(await failed_login(port, KINDS[kind]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=40, help="failed logins per kind (40)")
    parser.add_argument(
        "--legacy-scheme",
        default="md5-crypt",
        choices=["none", "md5-crypt", "sha256-crypt", "sha512-crypt", "bcrypt"],
        help="[auth.passwords] legacy_scheme of the server (md5-crypt, as shipped)",
    )
    arguments = parser.parse_args()
    if not 5 <= arguments.rounds <= 1000:
        parser.error("--rounds must be 5-1000")
    running = start(arguments.legacy_scheme)
    try:
        times = asyncio.run(measure(running.port, arguments.rounds))
        log = running.log_path.read_text(errors="replace")
    finally:
        imap_mailroom.stop(running)
    if "wrapped 2 legacy password hashes" not in log:
        raise SystemExit("the server did not report wrapping the two legacy hashes")
    failures = log.count("result=fail")
    expected = (arguments.rounds + 2) * len(KINDS)
    if failures != expected:
        raise SystemExit(f"{failures} failed logins in the server's log, {expected} expected")
    medians = {kind: statistics.median(each) for kind, each in times.items()}
    print(
        f"\nFailed IMAP LOGIN, median of {arguments.rounds} per kind, argon2id t=3 m=64MiB p=4, "
        f"legacy_scheme = {arguments.legacy_scheme}"
    )
    print("| account | median ms | min ms | max ms | ratio to argon2id |")
    print("| --- | --- | --- | --- | --- |")
    for kind, each in times.items():
        print(
            f"| {kind} | {medians[kind] * 1000:.1f} | {min(each) * 1000:.1f} | "
            f"{max(each) * 1000:.1f} | {medians[kind] / medians['argon2id']:.3f} |"
        )
    spread = max(medians.values()) / min(medians.values()) - 1
    print(f"\nslowest median / fastest median - 1 = {spread * 100:.1f}% (criterion: within 5%)")


if __name__ == "__main__":
    main()
