"""What the login cache saves: N sequential IMAP logins of one account, each on a new
connection, against a Mailroom from this checkout with the cache as shipped and with
`cache_ttl_seconds = 0`.

The Mailroom hashes passwords with the shipped argon2id costs (t=3, 64 MiB, p=4): the
point is what a real verification costs. For each setting, in alternating rounds: start
a throw-away Mailroom (`mailroom init`, one IMAP listener on a free 127.0.0.1 port,
plain-text passwords allowed from loopback, one account added with `mailroom user add`),
then, timed, N times: connect, greeting, LOGIN (timed on its own), LOGOUT. The first
login of a round is one verification either way; with the cache the others are hits.
The server's log is checked for the number of `cache=hit` logins. `--cached-only` skips
the rounds without the cache (each LOGIN a full verification), to measure what a cached
LOGIN still costs on a loaded machine in less time.

Prints a line per round, then per setting the median over rounds of the total time and
of the median and slowest LOGIN. A Mailroom the script starts is stopped by its PID and
its temporary directory removed. Usage: ``python bench/login_cache.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
from imap_client import ImapConnection

ACCOUNT = "bench@example.test"
PASSWORD = "a bench password"  # noqa: S105 - the throw-away server's only account
WAIT_S = 60.0


@dataclass
class Round:
    setting: str
    total_s: float
    logins_s: list[float]
    cache_hits: int


def config_text(port: int, cache_ttl_seconds: float) -> str:
    return f"""# Written by bench/login_cache.py for one round.
hostname = "bench.mailroom.test"
data_dir = "data"

[directory]
url = "sqlite:///directory.sqlite3"

[auth]
cache_ttl_seconds = {cache_ttl_seconds}

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


def start(cache_ttl_seconds: float) -> imap_mailroom.RunningMailroom:
    command = imap_mailroom.mailroom_command()
    directory = Path(tempfile.mkdtemp(prefix="mailroom-login-cache-"))
    try:
        init = subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
            [str(command), "init", str(directory), "--demo", "--hostname", "bench.mailroom.test"],
            capture_output=True,
            timeout=imap_mailroom.CLI_TIMEOUT_S,
            check=True,
        )
        del init
        port = imap_mailroom.free_loopback_port()
        config = directory / "mailroom.toml"
        config.write_text(config_text(port, cache_ttl_seconds))
        imap_mailroom.run_cli(command, config, "domain", "add", "example.test")
        imap_mailroom.run_cli(
            command,
            config,
            "user",
            "add",
            ACCOUNT,
            "--password-stdin",
            stdin=f"{PASSWORD}\n".encode(),
        )
        return imap_mailroom.serve(command, directory, config, port)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


async def logins(port: int, count: int) -> tuple[float, list[float]]:
    """(total seconds, seconds of each LOGIN) of `count` sequential sessions."""
    times = []
    started = time.perf_counter()
    for _ in range(count):
        connection = await ImapConnection.open("127.0.0.1", port, WAIT_S)
        before = time.perf_counter()
        reply = await connection.command(f'LOGIN {ACCOUNT} "{PASSWORD}"')
        times.append(time.perf_counter() - before)
        if not reply.ok():
            raise SystemExit(f"LOGIN refused: {reply.status} {reply.text}")
        await connection.logout()
    return time.perf_counter() - started, times


def one_round(setting: str, cache_ttl_seconds: float, count: int) -> Round:
    running = start(cache_ttl_seconds)
    try:
        total, times = asyncio.run(logins(running.port, count))
        log = running.log_path.read_text(errors="replace")
    finally:
        imap_mailroom.stop(running)
    return Round(setting, total, times, log.count("cache=hit"))


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--logins", type=int, default=20, help="logins per round (20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setting (3)")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="only the cache as shipped: what a cached LOGIN costs, without the slow rounds",
    )
    arguments = parser.parse_args()
    if not 1 <= arguments.logins <= 1000 or not 1 <= arguments.rounds <= 20:
        parser.error("--logins must be 1-1000 and --rounds 1-20")
    settings = {"cache on (300 s)": 300.0, "cache off (0)": 0.0}
    if arguments.cached_only:
        del settings["cache off (0)"]
    rounds: list[Round] = []
    for number in range(arguments.rounds):
        for setting, ttl in settings.items():
            done = one_round(setting, ttl, arguments.logins)
            rounds.append(done)
            print(
                f"round {number + 1} {setting}: {done.total_s:.2f} s for "
                f"{arguments.logins} logins, LOGIN median "
                f"{milliseconds(statistics.median(done.logins_s))} ms, "
                f"{done.cache_hits} cache hits",
                flush=True,
            )
    print(f"\n{arguments.logins} sequential IMAP logins, median of {arguments.rounds} rounds")
    print("| setting | total s | LOGIN median ms | LOGIN max ms | cache hits |")
    print("| --- | --- | --- | --- | --- |")
    for setting in settings:
        mine = [r for r in rounds if r.setting == setting]
        total = statistics.median(r.total_s for r in mine)
        median = statistics.median(statistics.median(r.logins_s) for r in mine)
        slowest = statistics.median(max(r.logins_s) for r in mine)
        hits = statistics.median(r.cache_hits for r in mine)
        print(
            f"| {setting} | {total:.3f} | {milliseconds(median)} | "
            f"{milliseconds(slowest)} | {hits:.0f} |"
        )


if __name__ == "__main__":
    main()
