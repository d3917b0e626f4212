"""Per-hour counts of the host's mail flow and logins for the last 48 hours, for the
dashboard's charts: a Prometheus server keeps the long history, but a host without one
still wants "mail in/out per hour" on its admin page, also right after a restart.

    history = HourlyHistory.load(data_dir / "metrics" / "hourly.json")
    history.record(RECEIVED)            # on the event loop; cheap, never blocks
    history.series(DELIVERED, 24)       # [(hour start UTC, count), ...] oldest first
    await asyncio.to_thread(history.save)   # now and then, and at stop

Only the names in `NAMES` are kept and only the last `KEEP_HOURS` hours, so the file is
bounded (under 10 kB). It is written whole to a temporary file, fsynced and renamed over
the old one, so a crash leaves the previous or the new version, never half of one. A
file that is not what `save` writes (hand-edited, truncated, hostile) is not trusted:
its bad parts are dropped, the rest kept, and a warning names the file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from mailroom.durable import fsync_directory, make_directory, write_synced

log = logging.getLogger("mailroom.metrics")

RECEIVED = "received"
"""Messages accepted by SMTP (inbound and submission), one per message."""
DELIVERED = "delivered"
"""Deliveries done, one per recipient (local mailbox or remote server)."""
BOUNCED = "bounced"
"""Recipients given up on (a bounce generated or the message dropped)."""
DEFERRED = "deferred"
"""Delivery attempts that failed temporarily (the recipient stays queued)."""
LOGIN_OK = "login_ok"
"""Successful logins on any protocol and the web."""
LOGIN_FAILED = "login_failed"
"""Refused logins (wrong password, throttled, unknown account...)."""

NAMES = (RECEIVED, DELIVERED, BOUNCED, DEFERRED, LOGIN_OK, LOGIN_FAILED)
KEEP_HOURS = 48
HOUR = 3600
MAX_FILE = 256 * 1024
"""A history file larger than this is not read (what `save` writes is far smaller)."""
MAX_COUNT = 2**53
"""Counts are kept below this (exact in JSON everywhere)."""
FORMAT = 1


class HourlyHistory:
    """Counts per hour (UTC, hour-aligned) per name. `record` and `series` are safe from
    any thread; `save` is blocking (call it in a thread)."""

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time):
        """`path` None keeps the history in memory only (`save` does nothing)."""
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, dict[int, int]] = {name: {} for name in NAMES}
        self._dirty = False

    @classmethod
    def load(cls, path: Path, *, clock: Callable[[], float] = time.time) -> HourlyHistory:
        """The history kept in `path` (empty if there is none yet, or it is unreadable)."""
        history = cls(path, clock=clock)
        try:
            with path.open("rb") as file:
                data = file.read(MAX_FILE + 1)
        except FileNotFoundError:
            return history
        except OSError as error:
            log.warning("metrics history %s not read (%s): starting empty", path, error)
            return history
        if len(data) > MAX_FILE:
            log.warning("metrics history %s is over %d bytes: starting empty", path, MAX_FILE)
            return history
        counts, problem = parse(data)
        if problem:
            log.warning("metrics history %s: %s (kept what was valid)", path, problem)
        history._merge(counts)
        return history

    def record(self, name: str, n: int = 1) -> None:
        """Add `n` to this hour's count of `name` (one of NAMES; ValueError otherwise)."""
        if name not in self._counts:
            raise ValueError(f"unknown metrics history name {name!r}; known: {', '.join(NAMES)}")
        if n <= 0:
            return
        hour = self._hour_now()
        with self._lock:
            hours = self._counts[name]
            hours[hour] = min(hours.get(hour, 0) + n, MAX_COUNT - 1)
            self._dirty = True
            if len(hours) > KEEP_HOURS:
                self._forget_before(hour - (KEEP_HOURS - 1) * HOUR)

    def series(self, name: str, hours: int = KEEP_HOURS) -> list[tuple[datetime, int]]:
        """The last `hours` hours (at most KEEP_HOURS) of `name`, oldest first, ending with
        the current hour; hours without counts are 0. Each item: (hour start, UTC aware)."""
        if name not in self._counts:
            raise ValueError(f"unknown metrics history name {name!r}; known: {', '.join(NAMES)}")
        hours = max(1, min(hours, KEEP_HOURS))
        now = self._hour_now()
        with self._lock:
            counts = dict(self._counts[name])
        starts = [now - (hours - 1 - i) * HOUR for i in range(hours)]
        return [(datetime.fromtimestamp(start, UTC), counts.get(start, 0)) for start in starts]

    def total(self, name: str, hours: int = 24) -> int:
        """The sum of `series(name, hours)`."""
        return sum(count for _, count in self.series(name, hours))

    def save(self) -> None:
        """Write the history to its file if it changed since the last save (blocking:
        fsync and rename). OSError is the caller's to log."""
        if self.path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            self._forget_before(self._hour_now() - (KEEP_HOURS - 1) * HOUR)
            data = render(self._counts)
            self._dirty = False
        try:
            make_directory(self.path.parent)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            write_synced(temporary, data)
            os.replace(temporary, self.path)
            fsync_directory(self.path.parent)
        except OSError:
            with self._lock:
                self._dirty = True
            raise

    def _merge(self, counts: dict[str, dict[int, int]]) -> None:
        oldest = self._hour_now() - (KEEP_HOURS - 1) * HOUR
        newest = self._hour_now()
        with self._lock:
            for name, hours in counts.items():
                mine = self._counts[name]
                for hour, count in hours.items():
                    if oldest <= hour <= newest:
                        mine[hour] = min(mine.get(hour, 0) + count, MAX_COUNT - 1)

    def _forget_before(self, oldest: int) -> None:
        for hours in self._counts.values():
            for hour in [hour for hour in hours if hour < oldest]:
                del hours[hour]

    def _hour_now(self) -> int:
        return int(self._clock()) // HOUR * HOUR


def render(counts: dict[str, dict[int, int]]) -> bytes:
    """The file's bytes: {"format": 1, "counts": {name: {"hour start (epoch s)": n}}}."""
    body = {
        "format": FORMAT,
        "counts": {
            name: {str(hour): count for hour, count in sorted(hours.items())}
            for name, hours in counts.items()
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def parse(data: bytes) -> tuple[dict[str, dict[int, int]], str]:
    """The counts in a history file and what was wrong with it ("" if nothing). Never
    raises: unknown names, bad hours (not hour-aligned, not an integer) and bad counts
    are dropped one by one; a file of another shape gives nothing."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return {}, "not JSON"
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return {}, f"not a format {FORMAT} history"
    raw = body.get("counts")
    if not isinstance(raw, dict):
        return {}, "no counts"
    counts: dict[str, dict[int, int]] = {}
    dropped = 0
    for name, hours in raw.items():
        if name not in NAMES or not isinstance(hours, dict):
            dropped += 1
            continue
        good = dict(_valid_hours(hours.items()))
        dropped += len(hours) - len(good)
        counts[name] = good
    return counts, f"{dropped} bad entries dropped" if dropped else ""


def _valid_hours(items: Iterable[tuple[object, object]]) -> Iterable[tuple[int, int]]:
    for key, count in items:
        if not isinstance(key, str) or not key.isascii() or not key.isdigit() or len(key) > 12:
            continue
        hour = int(key)
        if hour % HOUR or isinstance(count, bool) or not isinstance(count, int):
            continue
        if 0 < count < MAX_COUNT:
            yield hour, count
