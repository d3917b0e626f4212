"""Is the host healthy? What `mailroom check` (a Nagios/NRPE plugin) and the web's
`/healthz` both ask: every listener greets a client, the queue is not too long nor
its oldest message too old, no TLS certificate is about to expire, data_dir's disk has
room, the directory's database answers.

Each check gives a `Finding` with a Nagios status and perfdata; a `HealthReport` is the
worst of them, written as the plugin guidelines ask
(https://nagios-plugins.org/doc/guidelines.html): `MAILROOM WARNING - text | perfdata`.
The checks only read: files (the queue as `mailroom queue list` reads it, certificates,
disk figures), a client's hello and goodbye to each listener (listener_probe.py), one
query to the directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

from cryptography import x509

from mailroom.app.host_files import data_dir, open_directory, queue_dir
from mailroom.app.listener_probe import ListenerDown, answer_time
from mailroom.config import Config, Listener, TlsMode
from mailroom.directory import Directory, DirectoryError, SchemaState
from mailroom.queue import read_queue
from mailroom.queue.layout import QueueLayout


class Status(IntEnum):
    """Nagios plugin return codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


_GRAVITY = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}
"""Which status wins when checks disagree: critical over warning over unknown over ok
(the monitoring plugins' `max_state_alt`): a listener down must page even if the disk
figures could not be read."""


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_GRAVITY.__getitem__, default=Status.OK)


@dataclass(frozen=True)
class Thresholds:
    """When a figure is a warning or critical. The defaults suit a community host."""

    queue_warning: int = 100
    """Messages in the queue above which it warns."""
    queue_critical: int = 500
    age_warning_seconds: float = 4 * 3600
    """Age of the oldest message waiting (not on hold) above which it warns: the hour
    senders get a delay warning by default ([delivery] delay_warning_hours)."""
    age_critical_seconds: float = 24 * 3600
    certificate_warning_days: float = 21
    """Days of validity left below which a TLS certificate warns (Let's Encrypt's renew
    at 30 days left, so 21 means renewal failed for days)."""
    certificate_critical_days: float = 7
    disk_warning_percent: float = 10
    """Free space (and free inodes) of data_dir's filesystem, in percent, below which it
    warns."""
    disk_critical_percent: float = 5
    connect_timeout_seconds: float = 5
    """How long a listener or the directory may take to answer."""


@dataclass(frozen=True)
class Perfdata:
    """One figure for graphs: `'label'=value[unit];warn;crit;min;max`."""

    label: str
    value: float
    unit: str = ""
    warning: str = ""
    critical: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def __str__(self) -> str:
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", self.label)
        fields = [
            f"{label}={_number(self.value)}{self.unit}",
            self.warning,
            self.critical,
            "" if self.minimum is None else _number(self.minimum),
            "" if self.maximum is None else _number(self.maximum),
        ]
        return ";".join(fields).rstrip(";")


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class Finding:
    """What one check found."""

    check: str
    status: Status
    summary: str
    perfdata: tuple[Perfdata, ...] = ()


@dataclass(frozen=True)
class HealthReport:
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        return worst(finding.status for finding in self.findings)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def status_line(self) -> str:
        """`MAILROOM CRITICAL - problems first; then the rest | perfdata`: one line."""
        ordered = sorted(self.findings, key=lambda f: -_GRAVITY[f.status])
        text = "; ".join(_plain(finding.summary) for finding in ordered)
        perfdata = " ".join(str(p) for finding in self.findings for p in finding.perfdata)
        line = f"MAILROOM {self.status.name} - {text}"
        return f"{line} | {perfdata}" if perfdata else line

    def problems(self, at_least: Status = Status.CRITICAL) -> list[str]:
        """The summaries of findings at least this grave (`Status.WARNING` takes warnings
        and criticals, never UNKNOWN): what a `/healthz` that fails only on what stops
        the host (a listener down, an expired certificate, a full disk) names."""
        floor = _GRAVITY[at_least]
        return [
            _plain(f.summary)
            for f in self.findings
            if f.status is not Status.UNKNOWN and _GRAVITY[f.status] >= floor
        ]

    def details(self) -> list[str]:
        """One line per check: `queue: OK - 3 messages, oldest 2 min`."""
        return [f"{f.check}: {f.status.name} - {_plain(f.summary)}" for f in self.findings]

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status.name.lower(),
            "checks": [
                {"check": f.check, "status": f.status.name.lower(), "summary": f.summary}
                for f in self.findings
            ],
        }


def _plain(text: str) -> str:
    """No `|` (it starts perfdata) and no line break in a status text."""
    return re.sub(r"[|\r\n]", " ", text)


def _ranked(value: float, warning: float, critical: float, above: bool = True) -> Status:
    """CRITICAL/WARNING when `value` passes a threshold (above it, or below if not `above`)."""
    if (value > critical) if above else (value < critical):
        return Status.CRITICAL
    if (value > warning) if above else (value < warning):
        return Status.WARNING
    return Status.OK


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.{1 if seconds < 10 * 86400 else 0}f} days"


# -- listeners --------------------------------------------------------------------------


async def check_listeners(listeners: Iterable[Listener], thresholds: Thresholds) -> Finding:
    """CRITICAL if any listener refuses a connection or does not greet in time."""
    listeners = list(listeners)
    if not listeners:
        return Finding("listeners", Status.WARNING, "no listeners configured")
    down: list[str] = []
    perfdata: list[Perfdata] = []
    # Port 0 (any free port) is for tests: the port the host got is not in the config.
    checked = [listener for listener in listeners if listener.port != 0]
    unchecked = len(listeners) - len(checked)

    async def probe(listener: Listener) -> None:
        try:
            seconds = await answer_time(listener, thresholds.connect_timeout_seconds)
        except ListenerDown as error:
            down.append(f"{listener.name} ({listener.address}: {error})")
            return
        timeout = _number(thresholds.connect_timeout_seconds)
        perfdata.append(Perfdata(f"listener_{listener.name}", seconds, "s", "", timeout, 0))

    await asyncio.gather(*(probe(listener) for listener in checked))
    count = len(checked)
    perfdata.insert(0, Perfdata("listeners_down", len(down), "", "", "0", 0, count))
    if down:
        text = f"{len(down)} of {count} listeners down: " + ", ".join(down)
        return Finding("listeners", Status.CRITICAL, text, tuple(perfdata))
    text = f"{count} listeners up" if count else "no listener checked"
    if unchecked:
        text += f" ({unchecked} on port 0, any free port)"
    return Finding("listeners", Status.OK, text, tuple(perfdata))


# -- the queue ----------------------------------------------------------------------------


def check_queue(directory: Path, thresholds: Thresholds, now: float) -> Finding:
    """Messages with recipients still to deliver, and the age of the oldest not on hold."""
    if directory.exists() and not directory.is_dir():
        return Finding("queue", Status.CRITICAL, f"queue {directory} is not a directory")
    active = QueueLayout(directory).active
    try:
        os.listdir(active)  # read_queue takes an unreadable queue for an empty one
    except FileNotFoundError:
        pass  # no queue yet: the server makes it at its first start
    except PermissionError:
        text = f"queue {active}: not readable by this user (run the check as the service user)"
        return Finding("queue", Status.UNKNOWN, text)
    except OSError as error:
        return Finding("queue", Status.CRITICAL, f"queue {active}: {error.strerror or error}")
    waiting = [entry for entry in read_queue(directory) if not entry.is_done]
    held = sum(1 for entry in waiting if entry.envelope.held)
    ages = [now - entry.envelope.received_at for entry in waiting if not entry.envelope.held]
    oldest = max(0.0, max(ages, default=0.0))
    size_status = _ranked(len(waiting), thresholds.queue_warning, thresholds.queue_critical)
    age_status = _ranked(oldest, thresholds.age_warning_seconds, thresholds.age_critical_seconds)
    summary = f"queue {len(waiting)} messages"
    if held:
        summary += f" ({held} on hold)"
    if ages:
        summary += f", oldest {_duration(oldest)}"
    perfdata = (
        Perfdata(
            "queue_size",
            len(waiting),
            "",
            _number(thresholds.queue_warning),
            _number(thresholds.queue_critical),
            0,
        ),
        Perfdata(
            "queue_oldest",
            round(oldest, 1),
            "s",
            _number(thresholds.age_warning_seconds),
            _number(thresholds.age_critical_seconds),
            0,
        ),
    )
    return Finding("queue", worst((size_status, age_status)), summary, perfdata)


# -- certificates -------------------------------------------------------------------------


def certificate_files(config: Config) -> list[Path]:
    """The TLS certificate files the listeners use, each once, in listener order."""
    files: list[Path] = []
    for listener in config.listeners:
        if listener.tls is TlsMode.NONE:
            continue
        path = config.resolve(listener.certificate or config.tls.certificate)
        if path not in files:
            files.append(path)
    return files


def check_certificates(files: Iterable[Path], thresholds: Thresholds, now: float) -> Finding:
    """Days left of the certificate that expires first (its chain's intermediates count:
    the chain breaks when one of them expires)."""
    problems: list[tuple[Status, str]] = []
    soonest: tuple[float, Path] | None = None
    moment = datetime.fromtimestamp(now, UTC)
    for path in files:
        try:
            chain = x509.load_pem_x509_certificates(path.read_bytes())
        except PermissionError:
            problems.append((Status.UNKNOWN, f"certificate {path}: not readable by this user"))
            continue
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else "no PEM certificate"
            problems.append((Status.CRITICAL, f"certificate {path}: {reason}"))
            continue
        for certificate in chain:
            days = (certificate.not_valid_after_utc - moment).total_seconds() / 86400
            if soonest is None or days < soonest[0]:
                soonest = (days, path)
    statuses = [status for status, _ in problems]
    texts = [text for _, text in problems]
    perfdata: tuple[Perfdata, ...] = ()
    if soonest is not None:
        days, path = soonest
        status = _ranked(
            days,
            thresholds.certificate_warning_days,
            thresholds.certificate_critical_days,
            above=False,
        )
        statuses.append(status)
        if days <= 0:
            texts.append(f"certificate {path} expired {_duration(-days * 86400)} ago")
        else:
            texts.append(f"certificate {path} expires in {_duration(days * 86400)}")
        perfdata = (
            Perfdata(
                "certificate_days",
                round(days, 1),
                "",
                f"{_number(thresholds.certificate_warning_days)}:",
                f"{_number(thresholds.certificate_critical_days)}:",
            ),
        )
    if not statuses:
        return Finding("certificates", Status.OK, "no TLS certificates in use")
    return Finding("certificates", worst(statuses), ", ".join(texts), perfdata)


# -- disk -----------------------------------------------------------------------------------


def check_disk(path: Path, thresholds: Thresholds) -> Finding:
    """Free space and free inodes (Maildir keeps a file per message) of `path`'s
    filesystem, as an unprivileged user sees them."""
    try:
        usage = shutil.disk_usage(path)
        inodes = os.statvfs(path)
    except OSError as error:
        return Finding("disk", Status.CRITICAL, f"data_dir {path}: {error.strerror or error}")
    free = 100 * usage.free / usage.total if usage.total else 0.0
    inodes_free = 100 * inodes.f_favail / inodes.f_files if inodes.f_files else 100.0
    warning, critical = thresholds.disk_warning_percent, thresholds.disk_critical_percent
    status = worst(_ranked(value, warning, critical, above=False) for value in (free, inodes_free))
    summary = f"data_dir {free:.1f}% free ({usage.free / 2**30:.1f} GiB)"
    if inodes_free < 50:
        summary += f", {inodes_free:.1f}% inodes free"
    limits = (f"{_number(warning)}:", f"{_number(critical)}:")
    perfdata = (
        Perfdata("data_dir_free", round(free, 2), "%", *limits, 0, 100),
        Perfdata("data_dir_free_bytes", usage.free, "B", "", "", 0, usage.total),
        Perfdata("data_dir_inodes_free", round(inodes_free, 2), "%", *limits, 0, 100),
    )
    return Finding("disk", status, summary, perfdata)


# -- the directory ----------------------------------------------------------------------------


async def check_directory(
    ask: Callable[[], Awaitable[SchemaState]], thresholds: Thresholds
) -> Finding:
    """One query to the directory's database: its schema's state."""
    start = time.monotonic()
    try:
        state = await asyncio.wait_for(ask(), thresholds.connect_timeout_seconds)
    except TimeoutError:
        seconds = _number(thresholds.connect_timeout_seconds)
        return Finding("directory", Status.CRITICAL, f"directory: no answer in {seconds} s")
    except (DirectoryError, OSError) as error:
        return Finding("directory", Status.CRITICAL, f"directory: {error}")
    perfdata = (Perfdata("directory_time", time.monotonic() - start, "s", "", "", 0),)
    if state is SchemaState.CURRENT:
        return Finding("directory", Status.OK, "directory answers", perfdata)
    if state is SchemaState.OLDER:
        text = "directory schema is older: the next `mailroom serve` upgrades it"
        return Finding("directory", Status.WARNING, text, perfdata)
    return Finding("directory", Status.CRITICAL, f"directory schema is {state.value}", perfdata)


async def _open_and_ask(config: Config) -> SchemaState:
    directory = await open_directory(config)
    try:
        return await directory.schema_state()
    finally:
        await directory.close()


# -- all of it ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthCheck:
    """The checks of one config; `directory` is the running host's (for the web's
    `/healthz`: `(await HealthCheck(config, directory=services.directory)()).problems()`
    from app/monitoring.py), else each run opens and closes its own (`mailroom check`)."""

    config: Config
    thresholds: Thresholds = field(default_factory=Thresholds)
    directory: Directory | None = None

    async def __call__(self) -> HealthReport:
        config, thresholds = self.config, self.thresholds
        now = time.time()
        if self.directory is not None:
            asking = check_directory(self.directory.schema_state, thresholds)
        else:
            asking = check_directory(lambda: _open_and_ask(config), thresholds)
        listeners, directory = await asyncio.gather(
            check_listeners(config.listeners, thresholds), asking
        )
        queue, certificates, disk = await asyncio.to_thread(self._files, now)
        return HealthReport((listeners, queue, certificates, disk, directory))

    def _files(self, now: float) -> tuple[Finding, Finding, Finding]:
        """The checks that read files (a disk's work, in a thread)."""
        config, thresholds = self.config, self.thresholds
        return (
            check_queue(queue_dir(config), thresholds, now),
            check_certificates(certificate_files(config), thresholds, now),
            check_disk(data_dir(config), thresholds),
        )
