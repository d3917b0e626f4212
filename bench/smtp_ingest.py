"""SMTP ingest benchmark: how fast does a server accept mail and put it on disk?

Sends N messages of a given size at a given concurrency to one SMTP target
(or, with --compare, to several in alternating rounds), each addressed to
local accounts, then waits until every accepted message is a file in the
target's Maildirs. Prints, per round and as medians over rounds:

- accepted/s: messages answered 250 after DATA, divided by the time from the
  first MAIL FROM sent to the last 250 received;
- delivered/s: deliveries (one per accepted recipient) divided by the time
  from the first MAIL FROM until all of them are files in ``new/`` or ``cur/``
  under the target's Maildir root (polled; the wait is bounded);
- p50/p99 latency of one message: MAIL FROM sent to 250 after DATA received;
- errors, by reply code or failure kind.

Why a hand-written client: it must not be the bottleneck on a 2-core machine
nor bring a dependency. Lockstep SMTP over asyncio streams (no PIPELINING,
like ``smtp-source`` of Postfix) costs the client far less CPU than smtplib in
threads or aiosmtplib, and the client's own CPU time is printed so a saturated
client shows. It speaks only to loopback addresses: it is a load generator.

Usage: see bench/README.md, or ``python bench/smtp_ingest.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import resource
import ssl
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import require_loopback  # the bench directory is not a package: imported by path

COMMAND_TIMEOUT_S = 60.0  # one SMTP reply; Postfix's own smtpd timeouts are 300 s
POLL_INTERVAL_S = 0.05  # Maildir polling; bounds the error of delivered/s
MAX_CONNECT_FAILURES = 50  # per round: past this the target is down, stop the round


class SmtpFailure(Exception):
    """The server answered something other than the reply the step needed."""

    def __init__(self, step: str, code: int, text: str) -> None:
        super().__init__(f"{step}: {code} {text}")
        self.step = step
        self.code = code


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    maildir_root: Path | None
    server_pids: tuple[int, ...] = ()
    """Processes whose CPU (theirs and their descendants') is the server's (--server-pids)."""

    def __str__(self) -> str:
        where = f" (Maildirs under {self.maildir_root})" if self.maildir_root else ""
        return f"{self.name} {self.host}:{self.port}{where}"


@dataclass(frozen=True)
class Load:
    messages: int
    size: int
    concurrency: int
    recipients: tuple[str, ...]
    recipients_per_message: int
    messages_per_connection: int
    starttls: bool
    mail_from: str
    send_limit_s: float
    delivery_timeout_s: float


@dataclass
class RoundResult:
    target: str
    round: int
    message_bytes: int = 0
    waited_for_delivery: bool = False
    attempted: int = 0
    accepted: int = 0
    deliveries_expected: int = 0
    deliveries_seen: int = 0
    accept_seconds: float = 0.0
    deliver_seconds: float | None = None  # None: not all on disk within the timeout
    accepted_per_s: float = 0.0
    delivered_per_s: float | None = None
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    """CPU seconds of the target's processes (--server-pids) from the first MAIL FROM
    until every delivery was on disk; None when not measured."""
    server_cpu_ms_per_delivery: float | None = None
    load_average_before: float = 0.0  # 1-minute load average: was the machine idle?
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


# --------------------------------------------------------------------------- target parsing


def parse_target(text: str, index: int) -> Target:
    """``[NAME=]HOST:PORT[:MAILDIR_ROOT]``; HOST may be ``[::1]``."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = f"target{index + 1}", text
    if rest.startswith("["):
        host, _, rest = rest[1:].partition("]")
        rest = rest.removeprefix(":")
    else:
        host, _, rest = rest.partition(":")
    port_text, _, root = rest.partition(":")
    if not host or not port_text.isdigit():
        raise argparse.ArgumentTypeError(
            f"target {text!r}: expected [NAME=]HOST:PORT[:MAILDIR_ROOT], "
            "e.g. reference=127.0.0.1:12525:/tmp/mailroom-reference/mail"
        )
    require_loopback(host, f"target {text!r}")
    return Target(name, host, int(port_text), Path(root) if root else None)


def parse_server_pids(texts: list[str], names: set[str]) -> dict[str, tuple[int, ...]]:
    """``NAME=PID[,PID...]`` options: the server processes of each named target."""
    pids: dict[str, tuple[int, ...]] = {}
    for text in texts:
        name, sep, rest = text.partition("=")
        numbers = [p.strip() for p in rest.split(",") if p.strip()]
        if not sep or name not in names or not numbers or not all(p.isdigit() for p in numbers):
            raise ValueError(f"--server-pids {text!r}: expected NAME=PID[,PID...] of a --target")
        pids[name] = pids.get(name, ()) + tuple(int(p) for p in numbers)
    return pids


# --------------------------------------------------------------------------- messages


def filler_lines(size: int) -> list[bytes]:
    """Deterministic base64-looking body text, 76 characters a line, about ``size`` bytes.

    Text that does not compress to nothing, so no layer gets an unfair shortcut.
    """
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines: list[bytes] = []
    total = 0
    counter = 0
    while total < size:
        digest = hashlib.sha512(counter.to_bytes(8, "big")).digest()
        digest += hashlib.sha512(digest).digest()
        line = bytes(alphabet[b % 64] for b in digest[:76])
        lines.append(line)
        total += len(line) + 2
        counter += 1
    return lines


def build_message(
    body: bytes, mail_from: str, recipients: list[str], run_id: str, seq: int
) -> bytes:
    """One message, CRLF line ends, already dot-stuffed (no body line starts with a dot)."""
    headers = (
        f"From: Mailroom bench <{mail_from}>\r\n"
        f"To: {', '.join(recipients)}\r\n"
        f"Subject: smtp_ingest {run_id} message {seq}\r\n"
        f"Date: {formatdate(localtime=True)}\r\n"
        f"Message-ID: <{run_id}.{seq}@bench.mailroom.test>\r\n"
        f"X-Mailroom-Bench: {run_id} {seq}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    )
    return headers.encode("ascii") + body


# --------------------------------------------------------------------------- SMTP client


@functools.cache
def client_tls_context() -> ssl.SSLContext:
    """One context for every connection: building one loads the CA store (~20 ms of CPU)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # loopback servers with self-signed certificates
    context.verify_mode = ssl.CERT_NONE
    return context


class SmtpConnection:
    """A minimal lockstep SMTP client session (RFC 5321) over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, target: Target, starttls: bool) -> SmtpConnection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port, limit=1 << 20), COMMAND_TIMEOUT_S
        )
        conn = cls(reader, writer)
        await conn.expect("greeting", None, 220)
        extensions = await conn.expect("EHLO", b"EHLO bench.mailroom.test", 250)
        if starttls:
            if "STARTTLS" not in extensions:
                raise SmtpFailure("STARTTLS", 0, "not offered by the server")
            await conn.expect("STARTTLS", b"STARTTLS", 220)
            await asyncio.wait_for(writer.start_tls(client_tls_context()), COMMAND_TIMEOUT_S)
            await conn.expect("EHLO after STARTTLS", b"EHLO bench.mailroom.test", 250)
        return conn

    async def read_reply(self) -> tuple[int, str]:
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), COMMAND_TIMEOUT_S)
            if not raw:
                raise ConnectionError("server closed the connection")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    async def expect(self, step: str, command: bytes | None, *codes: int) -> str:
        if command is not None:
            self.writer.write(command + b"\r\n")
        code, text = await self.read_reply()
        if code not in codes:
            raise SmtpFailure(step, code, text)
        return text.upper()

    async def send_message(
        self, mail_from: str, recipients: list[str], data: bytes, errors: Counter[str]
    ) -> int:
        """One transaction; returns how many recipients the 250 after DATA covers (0: none)."""
        await self.expect("MAIL", f"MAIL FROM:<{mail_from}>".encode(), 250)
        accepted = 0
        for rcpt in recipients:
            self.writer.write(f"RCPT TO:<{rcpt}>\r\n".encode())
            code, _ = await self.read_reply()
            if code in (250, 251):
                accepted += 1
            else:
                errors[f"RCPT {code}"] += 1
        if not accepted:
            await self.expect("RSET", b"RSET", 250)
            return 0
        await self.expect("DATA", b"DATA", 354)
        self.writer.write(data + b"\r\n.\r\n")
        await self.expect("end of DATA", None, 250)
        return accepted

    async def close(self, polite: bool) -> None:
        with contextlib.suppress(OSError, SmtpFailure):
            if polite:
                await self.expect("QUIT", b"QUIT", 221)
        self.writer.close()
        with contextlib.suppress(OSError):
            await asyncio.wait_for(self.writer.wait_closed(), 5)


# --------------------------------------------------------------------------- Maildir counting


def count_maildir_messages(root: Path) -> int:
    """Files in every ``new/`` and ``cur/`` under ``root``; ``tmp/`` is work in progress."""
    total = 0
    stack = [str(root)]
    while stack:
        path = stack.pop()
        try:
            entries = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name in ("new", "cur"):
                with contextlib.suppress(FileNotFoundError):
                    total += sum(1 for name in os.listdir(entry.path) if not name.startswith("."))
            elif entry.name != "tmp":
                stack.append(entry.path)
    return total


# --------------------------------------------------------------------------- one round


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


Compose = Callable[[bytes, str, list[str], str, int], bytes]
"""(body, mail_from, recipients, run_id, index) -> the message; build_message's shape."""


async def run_round(
    target: Target,
    load: Load,
    round_no: int,
    run_id: str,
    compose: Compose = build_message,
    on_accepted: Callable[[int, int], None] | None = None,
) -> RoundResult:
    """One round to one target. ``compose`` makes each message (bench/sieve_ingest.py
    sends mail of its own); ``on_accepted(index, recipients)`` hears of each message the
    server answered 250 after DATA, for checks of where it landed."""
    result = RoundResult(target=target.name, round=round_no, load_average_before=os.getloadavg()[0])
    errors: Counter[str] = Counter()
    sample_headers = compose(
        b"",
        load.mail_from,
        list(load.recipients[: load.recipients_per_message]),
        run_id,
        load.messages,
    )
    body = b"\r\n".join(filler_lines(max(0, load.size - len(sample_headers)))) + b"\r\n"
    result.message_bytes = len(sample_headers) + len(body)
    result.waited_for_delivery = target.maildir_root is not None
    latencies: list[float] = []
    next_index = 0
    first_mail: float | None = None
    last_accept = 0.0
    deliveries_expected = 0
    connect_failures = 0
    send_deadline = time.monotonic() + load.send_limit_s
    sending_done = asyncio.Event()
    k = len(load.recipients)

    baseline = (
        await asyncio.to_thread(count_maildir_messages, target.maildir_root)
        if target.maildir_root
        else 0
    )

    def take_index() -> int | None:
        nonlocal next_index
        if next_index >= load.messages or time.monotonic() > send_deadline:
            return None
        if connect_failures > MAX_CONNECT_FAILURES:
            return None
        next_index += 1
        return next_index - 1

    async def worker() -> None:
        nonlocal first_mail, last_accept, deliveries_expected, connect_failures
        conn: SmtpConnection | None = None
        sent_on_conn = 0
        try:
            while (index := take_index()) is not None:
                result.attempted += 1
                if conn is None:
                    try:
                        conn = await SmtpConnection.open(target, load.starttls)
                        sent_on_conn = 0
                    except (OSError, SmtpFailure) as exc:
                        connect_failures += 1
                        errors[f"connect: {describe(exc)}"] += 1
                        continue
                rcpts = [
                    load.recipients[(index * load.recipients_per_message + j) % k]
                    for j in range(load.recipients_per_message)
                ]
                data = compose(body, load.mail_from, rcpts, run_id, index)
                started = time.perf_counter()
                if first_mail is None:
                    first_mail = started
                try:
                    accepted = await conn.send_message(load.mail_from, rcpts, data, errors)
                except (OSError, SmtpFailure) as exc:
                    errors[describe(exc)] += 1
                    await conn.close(polite=isinstance(exc, SmtpFailure))
                    conn = None
                    continue
                finished = time.perf_counter()
                sent_on_conn += 1
                if accepted:
                    result.accepted += 1
                    deliveries_expected += accepted
                    latencies.append(finished - started)
                    last_accept = max(last_accept, finished)
                    if on_accepted is not None:
                        on_accepted(index, accepted)
                if load.messages_per_connection and sent_on_conn >= load.messages_per_connection:
                    await conn.close(polite=True)
                    conn = None
        finally:
            if conn is not None:
                await conn.close(polite=True)

    async def watch_deliveries() -> tuple[int, float | None]:
        """Poll the Maildirs until every accepted delivery is there, or the timeout."""
        assert target.maildir_root is not None
        seen = 0
        deadline: float | None = None
        while True:
            seen = await asyncio.to_thread(count_maildir_messages, target.maildir_root) - baseline
            now = time.perf_counter()
            if sending_done.is_set():
                if seen >= deliveries_expected:
                    return seen, now
                if deadline is None:
                    deadline = time.monotonic() + load.delivery_timeout_s
                elif time.monotonic() > deadline:
                    return seen, None
            await asyncio.sleep(POLL_INTERVAL_S)

    cpu_before = client_cpu_seconds()
    server_before = server_cpu_seconds(target.server_pids)
    watcher = asyncio.create_task(watch_deliveries()) if target.maildir_root else None
    try:
        await asyncio.gather(*(worker() for _ in range(load.concurrency)))
    finally:
        sending_done.set()
    if watcher is not None:
        result.deliveries_seen, all_on_disk = await watcher
        if all_on_disk is not None and first_mail is not None:
            result.deliver_seconds = all_on_disk - first_mail
    result.client_cpu_s = client_cpu_seconds() - cpu_before
    server_after = server_cpu_seconds(target.server_pids)
    if server_before is not None and server_after is not None:
        result.server_cpu_s = server_after - server_before
        if deliveries_expected:
            result.server_cpu_ms_per_delivery = result.server_cpu_s * 1000 / deliveries_expected

    result.deliveries_expected = deliveries_expected
    if first_mail is not None and result.accepted:
        result.accept_seconds = last_accept - first_mail
        result.accepted_per_s = result.accepted / max(result.accept_seconds, 1e-9)
    if result.deliver_seconds is not None and deliveries_expected:
        result.delivered_per_s = deliveries_expected / max(result.deliver_seconds, 1e-9)
    latencies.sort()
    result.latency_p50_ms = percentile(latencies, 0.50) * 1000
    result.latency_p99_ms = percentile(latencies, 0.99) * 1000
    if next_index < load.messages:
        errors["not sent: " + ("target down" if connect_failures else "time limit")] += (
            load.messages - next_index
        )
    result.errors = dict(errors)
    return result


def describe(exc: BaseException) -> str:
    if isinstance(exc, SmtpFailure):
        return f"{exc.step} {exc.code}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def _process_table() -> dict[int, tuple[int, float, float]]:
    """Every process: pid -> (parent pid, own CPU seconds, reaped children's CPU seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # after the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        own = (int(fields[11]) + int(fields[12])) / ticks
        reaped = (int(fields[13]) + int(fields[14])) / ticks
        table[int(entry)] = (int(fields[1]), own, reaped)
    return table


def server_cpu_seconds(roots: tuple[int, ...]) -> float | None:
    """CPU seconds used so far by the processes `roots`, their live descendants, and the
    children they reaped (Postfix's master and Dovecot's start short-lived helpers);
    None without roots. Linux /proc only."""
    if not roots:
        return None
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total = 0.0
    seen: set[int] = set()
    stack = [pid for pid in roots if pid in table]
    for pid in stack:
        total += table[pid][2]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid][1]
        stack.extend(children.get(pid, ()))
    return total


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- reporting


def print_round(result: RoundResult, load: Load) -> None:
    print(
        f"  accepted   {result.accepted}/{load.messages} messages of {result.message_bytes} B in "
        f"{result.accept_seconds:.2f} s = {result.accepted_per_s:.1f}/s"
    )
    if result.deliveries_expected or result.deliveries_seen:
        if result.deliver_seconds is None:
            print(
                f"  delivered  {result.deliveries_seen}/{result.deliveries_expected} on disk "
                f"when the {load.delivery_timeout_s:.0f} s wait ran out"
            )
        else:
            print(
                f"  delivered  {result.deliveries_expected} on disk after "
                f"{result.deliver_seconds:.2f} s = {result.delivered_per_s:.1f}/s"
            )
    print(
        f"  latency    p50 {result.latency_p50_ms:.1f} ms, p99 {result.latency_p99_ms:.1f} ms "
        "(MAIL FROM to 250 after DATA)"
    )
    wall = max(result.deliver_seconds or 0.0, result.accept_seconds)
    print(
        f"  client CPU {result.client_cpu_s:.2f} s over {wall:.2f} s; "
        f"load average before the round {result.load_average_before:.2f}"
    )
    if result.server_cpu_s is not None:
        per = result.server_cpu_ms_per_delivery
        print(
            f"  server CPU {result.server_cpu_s:.2f} s"
            + (f" = {per:.2f} ms per delivery" if per is not None else "")
        )
    if result.errors:
        listed = ", ".join(f"{kind} ×{n}" for kind, n in sorted(result.errors.items()))
        print(f"  errors     {result.error_count}: {listed}")
    else:
        print("  errors     0")


def median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if len(present) == len(values) and present else None


def summarize(
    results: list[RoundResult], targets: list[Target]
) -> dict[str, dict[str, float | None]]:
    summary: dict[str, dict[str, float | None]] = {}
    for target in targets:
        mine = [r for r in results if r.target == target.name]
        summary[target.name] = {
            "accepted_per_s": median_or_none([r.accepted_per_s for r in mine]),
            "delivered_per_s": median_or_none([r.delivered_per_s for r in mine]),
            "latency_p50_ms": median_or_none([r.latency_p50_ms for r in mine]),
            "latency_p99_ms": median_or_none([r.latency_p99_ms for r in mine]),
            "server_cpu_ms_per_delivery": median_or_none(
                [r.server_cpu_ms_per_delivery for r in mine]
            ),
            "errors": float(sum(r.error_count for r in mine)),
        }
    return summary


def print_summary(summary: dict[str, dict[str, float | None]], rounds: int) -> None:
    def cell(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    names = list(summary)
    width = max(len(n) for n in [*names, "ratio x/y"]) + 16
    print(f"\nmedian of {rounds} round(s)")
    print(
        f"{'':<{width}} {'accepted/s':>11} {'delivered/s':>12} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'srv CPU ms/dlv':>15}"
    )
    for name, row in summary.items():
        print(
            f"{name:<{width}} {cell(row['accepted_per_s']):>11} {cell(row['delivered_per_s']):>12} "
            f"{cell(row['latency_p50_ms']):>8} {cell(row['latency_p99_ms']):>8} "
            f"{cell(row['errors'], 0):>7} {cell(row['server_cpu_ms_per_delivery'], 2):>15}"
        )
    if len(names) >= 2:
        first, second = summary[names[0]], summary[names[1]]

        def ratio(key: str) -> str:
            a, b = first[key], second[key]
            return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"

        label = f"ratio {names[0]}/{names[1]}"
        print(
            f"{label:<{width}} {ratio('accepted_per_s'):>11} {ratio('delivered_per_s'):>12} "
            f"{ratio('latency_p50_ms'):>8} {ratio('latency_p99_ms'):>8} {'':>7} "
            f"{ratio('server_cpu_ms_per_delivery'):>15}"
        )
        print("(throughput: higher is better; latency and CPU: lower is better)")


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="SMTP ingest benchmark: accepted/s, delivered/s (on disk) and latency.",
        epilog="Example: python bench/smtp_ingest.py --compare "
        "--target mailroom=127.0.0.1:2525:var/mail "
        "--target reference=127.0.0.1:12525:/tmp/mailroom-reference/mail",
    )
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="[NAME=]HOST:PORT[:ROOT]",
        help="SMTP server on loopback and, optionally, the root of its Maildirs "
        "(without a root, delivery is not waited for); repeat with --compare",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run every --target in alternating rounds and print the ratio of "
        "the first to the second",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds per target (default 3 with --compare, else 1)",
    )
    parser.add_argument(
        "-n", "--messages", type=int, default=5000, help="messages per round (5000)"
    )
    parser.add_argument(
        "--size", type=int, default=4096, help="approximate message size in bytes (4096)"
    )
    parser.add_argument(
        "-c", "--concurrency", type=int, default=20, help="simultaneous SMTP connections (20)"
    )
    parser.add_argument(
        "-k",
        "--accounts",
        type=int,
        default=10,
        help="recipients user0..user{K-1}@DOMAIN, spread evenly (10)",
    )
    parser.add_argument(
        "--domain", default="example.test", help="domain of the accounts (example.test)"
    )
    parser.add_argument(
        "--recipients", help="comma-separated recipient addresses instead of --accounts"
    )
    parser.add_argument(
        "--recipients-per-message",
        type=int,
        default=1,
        help="RCPT TOs per message; each becomes one delivery (1)",
    )
    parser.add_argument(
        "--messages-per-connection",
        type=int,
        default=1,
        help="messages sent on one connection before QUIT; 0 = no limit "
        "(1, as an MTA delivering one message per connection)",
    )
    parser.add_argument(
        "--starttls", action="store_true", help="STARTTLS before MAIL (no certificate check)"
    )
    parser.add_argument("--mail-from", default="bench@bench.mailroom.test", help="envelope sender")
    parser.add_argument(
        "--warmup",
        type=int,
        default=100,
        help="messages sent to each target before measuring, not counted (100)",
    )
    parser.add_argument(
        "--send-limit",
        type=float,
        default=600.0,
        help="seconds after which a round sends no more messages (600)",
    )
    parser.add_argument(
        "--delivery-timeout",
        type=float,
        default=120.0,
        help="seconds to wait after the last message for deliveries to reach disk (120)",
    )
    parser.add_argument(
        "--server-pids",
        action="append",
        default=[],
        metavar="NAME=PID[,PID...]",
        help="the server processes of target NAME (e.g. Postfix's and Dovecot's masters): "
        "their CPU and their descendants' is printed per delivery",
    )
    parser.add_argument(
        "--json", type=Path, help="also write every round and the summary to this file"
    )
    return parser


def load_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Load:
    if args.recipients:
        recipients = tuple(r.strip() for r in args.recipients.split(",") if r.strip())
    else:
        recipients = tuple(f"user{i}@{args.domain}" for i in range(args.accounts))
    checks = [
        (args.messages > 0, "--messages must be at least 1"),
        (args.concurrency > 0, "--concurrency must be at least 1"),
        (args.size >= 0, "--size must not be negative"),
        (bool(recipients), "no recipients"),
        (
            1 <= args.recipients_per_message <= len(recipients),
            "--recipients-per-message must be between 1 and the number of recipients",
        ),
        (args.messages_per_connection >= 0, "--messages-per-connection must not be negative"),
        (args.messages <= 1_000_000, "--messages is capped at 1,000,000 per round"),
        (args.concurrency <= 1000, "--concurrency is capped at 1000"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return Load(
        messages=args.messages,
        size=args.size,
        concurrency=args.concurrency,
        recipients=recipients,
        recipients_per_message=args.recipients_per_message,
        messages_per_connection=args.messages_per_connection,
        starttls=args.starttls,
        mail_from=args.mail_from,
        send_limit_s=args.send_limit,
        delivery_timeout_s=args.delivery_timeout,
    )


async def run(targets: list[Target], load: Load, rounds: int, warmup: int) -> list[RoundResult]:
    run_id = time.strftime("%Y%m%dT%H%M%S")
    if warmup:
        warm = replace(load, messages=warmup)
        for target in targets:
            print(f"warm-up: {warmup} messages to {target.name}")
            warm_result = await run_round(target, warm, 0, run_id + "-warmup")
            if warm_result.accepted == 0:
                print(
                    f"  {target.name} accepted none of them: "
                    f"{warm_result.errors or 'no reply'}; is it running?",
                    file=sys.stderr,
                )
    results: list[RoundResult] = []
    for round_no in range(1, rounds + 1):
        # Alternate which target goes first, so neither always meets a warmer disk cache.
        order = targets if round_no % 2 else list(reversed(targets))
        for target in order:
            print(f"\nround {round_no}/{rounds}: {target}")
            print(
                f"  {load.messages} messages at concurrency {load.concurrency}, "
                f"{load.recipients_per_message} recipient(s) each over {len(load.recipients)} "
                f"account(s){', STARTTLS' if load.starttls else ''}"
            )
            result = await run_round(target, load, round_no, f"{run_id}-r{round_no}")
            print_round(result, load)
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        targets = [parse_target(text, i) for i, text in enumerate(args.target)]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.compare and len(targets) < 2:
        parser.error("--compare needs at least two --target")
    if not args.compare and len(targets) > 1:
        parser.error("several --target need --compare")
    if len({t.name for t in targets}) != len(targets):
        parser.error("targets need distinct names: NAME=HOST:PORT:ROOT")
    try:
        pids = parse_server_pids(args.server_pids, {t.name for t in targets})
    except ValueError as exc:
        parser.error(str(exc))
    targets = [replace(t, server_pids=pids.get(t.name, ())) for t in targets]
    load = load_from_args(args, parser)
    rounds = args.rounds if args.rounds is not None else (3 if args.compare else 1)
    if not 1 <= rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    for target in targets:
        if target.maildir_root and not target.maildir_root.is_dir():
            print(
                f"note: {target.maildir_root} does not exist yet; counting from zero",
                file=sys.stderr,
            )

    print(
        f"smtp_ingest: {len(targets)} target(s), {rounds} round(s); "
        f"client {sys.implementation.name} {sys.version.split()[0]} on {os.cpu_count()} CPU(s)"
    )
    results = asyncio.run(run(targets, load, rounds, args.warmup))
    summary = summarize(results, targets)
    print_summary(summary, rounds)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "load": {**asdict(load), "recipients": list(load.recipients)},
                    "rounds": [asdict(r) for r in results],
                    "median": summary,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    failed = any(
        r.error_count or (r.waited_for_delivery and r.deliver_seconds is None) for r in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
