"""The administrator's home, `/admin`: how the host is doing, in pictures (inline SVG,
dashboard_charts.py) rather than tables: mail received, delivered and bounced per hour,
logins and failures per hour, the queue by state and age, the bans in force, how long
the TLS certificates and DKIM keys have left, and the disks' use.

Each picture comes from one source; a source that fails or is not wired (a host
without the hourly history, a worker's throttle without bans) shows as "not available"
and the rest of the page is drawn. Reading files (certificates, disk use) happens in a
thread, never on the event loop."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.metrics.history import (
    BOUNCED,
    DEFERRED,
    DELIVERED,
    LOGIN_FAILED,
    LOGIN_OK,
    RECEIVED,
    HourlyHistory,
)
from mailroom.queue.entry import QueueEntry
from mailroom.queue.envelope import RecipientState
from mailroom.web.access import admin
from mailroom.web.context import WebServices
from mailroom.web.dashboard_charts import Chart, Level, Meter, Series, line_chart, stacked_bars
from mailroom.web.dashboard_sources import DkimKeyAge
from mailroom.web.pages import page

log = logging.getLogger("mailroom.web")

HOURS = 24
DAY = 86400
CERTIFICATE_WARN_DAYS = 21
CERTIFICATE_BAD_DAYS = 7
DKIM_ROTATE_DAYS = 180
"""Replace a DKIM key about twice a year (M3AAWG's DKIM key rotation practices)."""
DKIM_WARN_DAYS = 150
DISK_WARN = 0.80
DISK_BAD = 0.90
MAX_BANS_SHOWN = 10
MAX_PEM_BYTES = 1024 * 1024

AGE_BUCKETS = (
    (300, "< 5 min"),
    (3600, "< 1 h"),
    (6 * 3600, "< 6 h"),
    (DAY, "< 1 day"),
    (3 * DAY, "< 3 days"),
    (None, "older"),
)


class QueueState:
    HELD = "held"
    DEFERRED = "deferred"
    WAITING = "waiting"


T = TypeVar("T")


@dataclass(frozen=True)
class BansView:
    addresses: int
    accounts: int
    longest: tuple[Meter, ...]


async def _guarded(what: str, source: Callable[[], Awaitable[T]]) -> T | None:
    """The source's answer, or None (logged) if it failed: one broken source must not
    take the admin's whole page away."""
    try:
        return await source()
    except Exception:
        log.exception("dashboard: %s not available", what)
        return None


def hour_labels(history: HourlyHistory) -> list[str]:
    return [f"{start:%H}:00" for start, _ in history.series(RECEIVED, HOURS)]


def _values(history: HourlyHistory, name: str) -> tuple[int, ...]:
    return tuple(count for _, count in history.series(name, HOURS))


def mail_chart(history: HourlyHistory) -> Chart:
    return line_chart(
        [
            Series("received", "s-in", _values(history, RECEIVED)),
            Series("delivered", "s-out", _values(history, DELIVERED)),
            Series("deferred", "s-warn", _values(history, DEFERRED)),
            Series("bounced", "s-bad", _values(history, BOUNCED)),
        ],
        hour_labels(history),
    )


def login_chart(history: HourlyHistory) -> Chart:
    return stacked_bars(
        [
            Series("logins", "s-out", _values(history, LOGIN_OK)),
            Series("failed logins", "s-bad", _values(history, LOGIN_FAILED)),
        ],
        hour_labels(history),
        label_every=6,
    )


def queue_state(entry: QueueEntry) -> str:
    if entry.envelope.held:
        return QueueState.HELD
    tried = any(
        recipient.attempts > 0 or recipient.state is RecipientState.DEFERRED
        for _, recipient in entry.unfinished()
    )
    return QueueState.DEFERRED if tried else QueueState.WAITING


def age_bucket(age: float) -> int:
    for index, (limit, _) in enumerate(AGE_BUCKETS):
        if limit is None or age < limit:
            return index
    return len(AGE_BUCKETS) - 1  # pragma: no cover - the last bucket has no limit


def queue_chart(entries: list[QueueEntry], now: float) -> Chart:
    """Messages still to deliver by age, stacked by state."""
    counts = {state: [0] * len(AGE_BUCKETS) for state in ("waiting", "deferred", "held")}
    for entry in entries:
        if entry.is_done:
            continue
        counts[queue_state(entry)][age_bucket(now - entry.envelope.received_at)] += 1
    return stacked_bars(
        [
            Series("waiting", "s-in", tuple(counts[QueueState.WAITING])),
            Series("deferred", "s-warn", tuple(counts[QueueState.DEFERRED])),
            Series("held", "s-held", tuple(counts[QueueState.HELD])),
        ],
        [label for _, label in AGE_BUCKETS],
        unit=" messages",
    )


def certificate_meters(files: tuple[tuple[str, Path], ...], now: datetime) -> list[Meter]:
    """One meter per certificate file: the share of its validity left. Blocking."""
    meters = []
    for label, path in files:
        try:
            with path.open("rb") as file:
                data = file.read(MAX_PEM_BYTES)
            certificate = x509.load_pem_x509_certificates(data)[0]
        except (OSError, ValueError) as error:
            meters.append(Meter(f"{label} ({path.name})", 0, f"unreadable: {error}", Level.BAD))
            continue
        start = certificate.not_valid_before_utc
        end = certificate.not_valid_after_utc
        left = end - now
        days = left.total_seconds() / DAY
        level = (
            Level.BAD
            if days < CERTIFICATE_BAD_DAYS
            else Level.WARN
            if days < CERTIFICATE_WARN_DAYS
            else Level.GOOD
        )
        text = f"expired {end:%Y-%m-%d}" if days < 0 else f"{days:.0f} days left ({end:%Y-%m-%d})"
        whole = max((end - start).total_seconds(), 1)
        meters.append(Meter(label, left.total_seconds() / whole, text, level))
    return meters


def dkim_meters(keys: list[DkimKeyAge], now: datetime) -> list[Meter]:
    """One meter per domain's key: its age against the rotation age (full: replace it)."""
    meters = []
    for key in sorted(keys, key=lambda key: key.domain):
        days = (now - key.created).total_seconds() / DAY
        level = (
            Level.BAD
            if days >= DKIM_ROTATE_DAYS
            else Level.WARN
            if days >= DKIM_WARN_DAYS
            else Level.GOOD
        )
        due = "replace it now" if days >= DKIM_ROTATE_DAYS else f"{days:.0f} days old"
        meters.append(
            Meter(
                f"{key.domain} ({key.selector}, {key.algorithm})",
                days / DKIM_ROTATE_DAYS,
                due,
                level,
            )
        )
    return meters


def disk_meters(paths: tuple[tuple[str, Path], ...]) -> list[Meter]:
    """One meter per file system holding `paths`, naming what it holds. Blocking."""
    meters: list[Meter] = []
    disks: dict[int, tuple[list[str], Path]] = {}
    for label, wanted in paths:
        path = wanted
        while not path.exists() and path.parent != path:
            path = path.parent  # not made yet (no mailbox so far): the disk it will be on
        try:
            device = path.stat().st_dev
        except OSError as error:
            meters.append(
                Meter(f"{label} ({wanted})", 0, f"unreadable: {error.strerror}", Level.BAD)
            )
            continue
        disks.setdefault(device, ([], path))[0].append(f"{label} ({wanted})")
    for labels, path in disks.values():
        try:
            usage = shutil.disk_usage(path)
        except OSError as error:
            meters.append(Meter(", ".join(labels), 0, f"unreadable: {error.strerror}", Level.BAD))
            continue
        used = (usage.total - usage.free) / usage.total if usage.total else 0.0
        level = Level.BAD if used >= DISK_BAD else Level.WARN if used >= DISK_WARN else Level.GOOD
        text = f"{used:.0%} used, {_bytes(usage.free)} free of {_bytes(usage.total)}"
        meters.append(Meter(", ".join(labels), used, text, level))
    return meters


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h left"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min left"
    return f"{seconds:.0f} s left"


def bans_view(bans: list[Any]) -> BansView:
    addresses = sum(1 for ban in bans if str(ban.kind) == "address")
    longest = sorted(bans, key=lambda ban: -float(ban.remaining))[:MAX_BANS_SHOWN]
    top = max((float(ban.remaining) for ban in longest), default=1.0) or 1.0
    return BansView(
        addresses,
        len(bans) - addresses,
        tuple(
            Meter(
                f"{ban.subject} ({ban.kind})",
                float(ban.remaining) / top,
                _duration(float(ban.remaining)),
                Level.BAD,
            )
            for ban in longest
        ),
    )


def routes(services: WebServices) -> list[BaseRoute]:
    async def dashboard(request: Request) -> Response:
        admin(request)
        now = datetime.now(UTC)

        async def history() -> HourlyHistory | None:
            if services.metrics is not None:
                return await services.metrics.refresh()  # counts of the last minute too
            return services.history

        async def queue() -> list[QueueEntry] | None:
            return None if services.queue is None else await services.queue.entries()

        async def bans() -> list[Any] | None:
            return None if services.bans is None else list(await services.bans.bans())

        async def dkim() -> list[DkimKeyAge] | None:
            return None if services.dkim_key_ages is None else await services.dkim_key_ages()

        async def certificates() -> list[Meter]:
            return await asyncio.to_thread(certificate_meters, services.certificate_files, now)

        async def disks() -> list[Meter]:
            return await asyncio.to_thread(disk_meters, services.disk_paths)

        hourly, entries, banned, keys, certificate_list, disk_list = await asyncio.gather(
            _guarded("the hourly history", history),
            _guarded("the queue", queue),
            _guarded("the bans", bans),
            _guarded("the DKIM keys", dkim),
            _guarded("the certificates", certificates),
            _guarded("the disk use", disks),
        )
        waiting = [entry for entry in entries or [] if not entry.is_done]
        return page(
            request,
            "dashboard.html",
            mail=mail_chart(hourly) if hourly is not None else None,
            logins=login_chart(hourly) if hourly is not None else None,
            totals={
                name: hourly.total(name, HOURS)
                for name in (RECEIVED, DELIVERED, BOUNCED, DEFERRED, LOGIN_OK, LOGIN_FAILED)
            }
            if hourly is not None
            else None,
            queue=queue_chart(entries, time.time()) if entries is not None else None,
            queued=len(waiting),
            bans=bans_view(banned) if banned is not None else None,
            certificates=certificate_list,
            dkim=dkim_meters(keys, now) if keys is not None else None,
            disks=disk_list,
            rotate_days=DKIM_ROTATE_DAYS,
        )

    return [Route("/admin", dashboard, methods=["GET"])]
