"""Start a throw-away Mailroom from this checkout for the IMAP and POP3 benchmarks
(``--compare``).

What it does, in a new temporary directory (removed afterwards unless kept):
``mailroom init DIR --demo``, then a config of its own in ``DIR/mailroom.toml``
(one IMAP listener on a free 127.0.0.1 port, limits raised for 2,000 sessions;
with ``pop3=True`` also a POP3 listener on another free port),
``mailroom domain add`` and ``mailroom user add`` for every account the
benchmark logs in as, all through the CLI as an administrator would, and
``mailroom serve`` as a child process, stopped by its PID at the end.

Until this version of Mailroom serves IMAP (or POP3, when asked for), ``serve``
skips the listener with a log line; ``start`` then raises ``MailroomNotServing``
with that line.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 120.0


class MailroomNotServing(Exception):
    """Mailroom started but does not serve IMAP or POP3 (yet), or did not start."""


@dataclass
class RunningMailroom:
    """A Mailroom serving IMAP on ``port`` (and POP3 on ``pop3_port``) from ``directory``."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    pop3_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def maildir(self, address: str) -> Path:
        """The account's Maildir (the config's path_template "mail/%d/%n/Maildir")."""
        local, _, domain = address.partition("@")
        return self.directory / "data" / "mail" / domain / local / "Maildir"


def mailroom_command() -> Path:
    """The ``mailroom`` entry point of this checkout's venv."""
    command = CHECKOUT / ".venv" / "bin" / "mailroom"
    if not command.exists():
        raise MailroomNotServing(f"{command} not found: create the venv (make dev) first")
    return command


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Argon2Cost:
    """argon2id parameters of the accounts' password hashes ([auth.passwords])."""

    time_cost: int
    memory_kib: int
    parallelism: int


CHEAP_HASHES = Argon2Cost(time_cost=1, memory_kib=1024, parallelism=1)
"""imap_bench.py's: login speed is not measured there, and cheap hashes keep 2,000 logins
from taking minutes (the reference Dovecot's passwd-file holds {PLAIN} passwords)."""
DOVECOT_ARGON2ID = Argon2Cost(time_cost=3, memory_kib=65536, parallelism=1)
"""What Debian's Dovecot 2.3 `doveadm pw -s ARGON2ID` makes (m=65536,t=3,p=1): the load
benchmark gives both servers the same cost per login."""


def config_text(
    port: int,
    max_connections: int,
    pop3_port: int | None = None,
    hashes: Argon2Cost = CHEAP_HASHES,
    workers: int = 1,
) -> str:
    """The benchmark's mailroom.toml: only what differs from the defaults, with why."""
    processes = "" if workers == 1 else f"\n[server]\nworkers = {workers}\n"
    return (
        f"""# Written by bench/imap_mailroom.py for one benchmark run.
hostname = "bench.mailroom.test"
data_dir = "data"

[directory]
url = "sqlite:///directory.sqlite3"

# The cost of the accounts' password hashes (see Argon2Cost in bench/imap_mailroom.py).
[auth.passwords]
time_cost = {hashes.time_cost}
memory_kib = {hashes.memory_kib}
parallelism = {hashes.parallelism}

[auth.throttle]
exempt_networks = ["127.0.0.0/8"]

[tls]
certificate = "tls/cert.pem"
key = "tls/key.pem"

[imap]
max_connections_per_user_ip = {max_connections}

# Every client of a benchmark comes from 127.0.0.1: the host-wide cap per address
# (default 50, all listeners together) would turn away the 51st.
[limits]
max_connections_per_address = {max_connections}

[[listeners]]
name = "imap"
protocol = "imap"
address = "127.0.0.1:{port}"
tls = "starttls"
plaintext_networks = ["127.0.0.0/8"]
max_connections = {max_connections}
max_connections_per_ip = {max_connections}
idle_timeout_seconds = 3600
"""
        + processes
        + ("" if pop3_port is None else pop3_listener_text(pop3_port))
    )


def pop3_listener_text(port: int) -> str:
    """The POP3 listener of bench/pop3_bench.py: USER/PASS in plain text from loopback,
    as the reference Dovecot allows."""
    return f"""
[[listeners]]
name = "pop3"
protocol = "pop3"
address = "127.0.0.1:{port}"
tls = "starttls"
plaintext_networks = ["127.0.0.0/8"]
"""


def run_cli(command: Path, config: Path, *args: str, stdin: bytes | None = None) -> None:
    result = subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
        [str(command), "-c", str(config), *args],
        input=stdin,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
        raise MailroomNotServing(f"mailroom {' '.join(args)}: exit {result.returncode}: {output}")


def start(
    accounts: list[str],
    password: str,
    max_connections: int,
    keep_dir: bool = False,
    pop3: bool = False,
    hashes: Argon2Cost = CHEAP_HASHES,
    workers: int = 1,
) -> RunningMailroom:
    """A Mailroom serving IMAP (and POP3 if ``pop3``) with ``accounts``; stop it with
    ``stop``."""
    command = mailroom_command()
    directory = Path(tempfile.mkdtemp(prefix="mailroom-imap-bench-"))
    try:
        init = subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
            [str(command), "init", str(directory), "--demo", "--hostname", "bench.mailroom.test"],
            capture_output=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        if init.returncode != 0:
            raise MailroomNotServing(
                f"mailroom init: {(init.stdout + init.stderr).decode('utf-8', 'replace')}"
            )
        port = free_loopback_port()
        pop3_port = free_loopback_port() if pop3 else None
        for _ in range(10):  # the kernel may hand out the just-closed port again; rarely
            if pop3_port != port:
                break
            pop3_port = free_loopback_port()
        config = directory / "mailroom.toml"
        config.write_text(config_text(port, max_connections, pop3_port, hashes, workers))
        domains = sorted({a.partition("@")[2] for a in accounts})
        for domain in domains:
            run_cli(command, config, "domain", "add", domain)
        # One CLI process per account costs about a second of start-up; run a few at once.
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            jobs = [
                pool.submit(
                    run_cli,
                    command,
                    config,
                    "user",
                    "add",
                    account,
                    "--password-stdin",
                    stdin=f"{password}\n".encode(),
                )
                for account in accounts
            ]
            for job in jobs:
                job.result()
        return serve(command, directory, config, port, pop3_port)
    except BaseException:
        if not keep_dir:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def root_flag(command: Path) -> list[str]:
    """`--as-root` when we are root and that checkout's `mailroom serve` has it (a
    server started by root refuses to stay root without `[server] user` since it has)."""
    if os.geteuid() != 0:
        return []
    shown = subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
        [str(command), "serve", "--help"], capture_output=True, text=True, check=False
    )
    return ["--as-root"] if "--as-root" in shown.stdout else []


def serve(
    command: Path, directory: Path, config: Path, port: int, pop3_port: int | None = None
) -> RunningMailroom:
    log_path = directory / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own venv's entry point, fixed arguments
        [str(command), "-c", str(config), "serve", *root_flag(command)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # our Ctrl-C does not reach it; we stop it by PID
    )
    log.close()
    running = RunningMailroom(directory, port, process, log_path, pop3_port)
    wanted = {"imap": port} if pop3_port is None else {"imap": port, "pop3": pop3_port}
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        for name in wanted:
            if f"skipped: {name}" in text:
                stop(running, keep_dir=True)
                line = next(x for x in text.splitlines() if f"skipped: {name}" in x)
                raise MailroomNotServing(f"mailroom serve: {line.strip()}")
        if process.poll() is not None:
            raise MailroomNotServing(
                f"mailroom serve exited with {process.returncode}: {text.strip()[-2000:]}"
            )
        if all(f"listening: {n}" in text and port_open(p) for n, p in wanted.items()):
            return running
        time.sleep(0.1)
    stop(running, keep_dir=True)
    raise MailroomNotServing(f"mailroom serve did not listen within {START_TIMEOUT_S:.0f} s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop(running: RunningMailroom, keep_dir: bool = False) -> None:
    """SIGTERM by PID, then SIGKILL after STOP_TIMEOUT_S; remove the directory unless kept."""
    process = running.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
    if not keep_dir:
        shutil.rmtree(running.directory, ignore_errors=True)


def log_tail(running: RunningMailroom, lines: int = 20) -> str:
    try:
        return "\n".join(running.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
