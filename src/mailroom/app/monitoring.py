"""The host's monitoring: the `/metrics` text (the main process's counters, its workers'
over their links, the queue measured at scrape time), `/healthz`'s checks, and the hourly
history for the dashboard, fed from the counters every minute and kept in data_dir.

Started after the queue is open and stopped before the workers are (their last counts
are asked for then), so the history written at stop has the whole run in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from mailroom.app.host_files import data_dir
from mailroom.app.services import Services
from mailroom.app.workers import WorkerPool
from mailroom.directory import DirectoryError
from mailroom.metrics import QUEUE_MESSAGES, QUEUE_OLDEST
from mailroom.metrics.combined import Samples, add, render, samples_of
from mailroom.metrics.history import HourlyHistory
from mailroom.metrics.history_feed import HistoryFeed
from mailroom.queue import QueueEntry, RecipientState

log = logging.getLogger("mailroom.metrics")

HISTORY_FILE = Path("metrics") / "hourly.json"
"""The hourly history's file, under data_dir."""
SAMPLE_SECONDS = 60.0
"""How often the history takes the counters and is saved."""
HEALTH_TIMEOUT = 5.0
"""Seconds the directory has to answer `/healthz`'s question."""


def history_path(services: Services) -> Path:
    return data_dir(services.config) / HISTORY_FILE


class HostMonitoring:
    def __init__(
        self,
        services: Services,
        workers: WorkerPool | None,
        history: HourlyHistory,
        *,
        sample_seconds: float = SAMPLE_SECONDS,
    ) -> None:
        self.services = services
        self.workers = workers
        self.history = history
        """Per-hour counts of the last 48 hours (metrics.history), for the dashboard."""
        self.sample_seconds = sample_seconds
        # Counts made before this host started (an earlier host of this process) are not
        # this host's: the feed starts from the counters as they are now.
        self._feed = HistoryFeed(history, samples_of())
        self._sampling: asyncio.Task[None] | None = None
        self._delivering: asyncio.Task[None] | None = None

    def start(self, delivering: asyncio.Task[None] | None = None) -> None:
        """Sample every `sample_seconds`; `delivering` is the dispatcher's task (health)."""
        self._delivering = delivering
        self._sampling = asyncio.create_task(self._sample_now_and_then())

    async def stop(self) -> None:
        """Take the counters one last time (workers still running) and save the history."""
        if self._sampling is None:
            return
        self._sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sampling
        self._sampling = None
        await self.refresh()
        await self._save()

    async def totals(self) -> tuple[Samples, Samples]:
        """(the main process's samples plus the workers', the workers' alone), asking
        every worker now."""
        workers = await self.workers.collect_metrics() if self.workers is not None else {}
        return add(samples_of(), workers), workers

    async def refresh(self) -> HourlyHistory:
        """The history with every count made until now in it."""
        combined, _ = await self.totals()
        self._feed.observe(combined)
        return self.history

    async def exposition(self) -> bytes:
        """The `/metrics` text of the whole host, the queue measured now."""
        await self._measure_queue()
        combined, workers = await self.totals()
        self._feed.observe(combined)
        return render(workers)

    async def problems(self) -> list[str]:
        """What keeps the host from working, for `/healthz` (empty: healthy)."""
        found = []
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await self.services.directory.version()
        except (DirectoryError, OSError, TimeoutError) as error:
            log.warning("healthz: the directory does not answer: %s", error)
            found.append("directory unreachable")
        if self._delivering is not None and self._delivering.done():
            found.append("delivery stopped")
        if self.workers is not None and len(self.workers.pids) < self.workers.count:
            found.append(f"{self.workers.count - len(self.workers.pids)} workers not running")
        return found

    async def _measure_queue(self) -> None:
        entries = await self.services.queue.entries()
        counts = queue_states(entries)
        for state, count in counts.items():
            QUEUE_MESSAGES.labels(state).set(count)
        oldest = min((entry.envelope.received_at for entry in entries), default=None)
        QUEUE_OLDEST.set(0 if oldest is None else max(0.0, time.time() - oldest))

    async def _sample_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(self.sample_seconds)
            try:
                await self.refresh()
            except Exception:  # the sampler must outlive one bad turn
                log.exception("metrics: the hourly history missed a sample")
            await self._save()

    async def _save(self) -> None:
        try:
            await asyncio.to_thread(self.history.save)
        except OSError as error:
            log.warning("metrics: cannot save the hourly history %s: %s", self.history.path, error)


def queue_states(entries: list[QueueEntry]) -> dict[str, int]:
    """Messages by state: held, deferred (tried and failed for some recipient), waiting
    (not tried yet)."""
    counts = {"held": 0, "deferred": 0, "waiting": 0}
    for entry in entries:
        if entry.envelope.held:
            counts["held"] += 1
        elif any(r.state is RecipientState.DEFERRED for r in entry.envelope.recipients):
            counts["deferred"] += 1
        else:
            counts["waiting"] += 1
    return counts
