"""Running a folder's blocking work in the store's threads, one operation at a time.

`FolderWork` is the part of a `Mailbox` (mailbox.py) that hands its disk and index
work to the `MailStore`'s worker threads: `_run` one operation at a time per folder
(an asyncio.Lock), `_thread` for reads that need no turn; after each, the index's
queued writes are made in a thread of their own (`_flush_soon`), once the caller has
its answer (the index is a cache: see index.py). `_in_background` runs work that
only saves later work (COPY's cached values), queued behind the folder's work so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mailroom.store.folder_state import FolderState
from mailroom.store.threads import StoreThreads

log = logging.getLogger(__name__)

T = TypeVar("T")


class FolderWork:
    """The folder's turn in the store's worker threads."""

    path: Path
    _state: FolderState
    _threads: StoreThreads
    _lock: asyncio.Lock
    _background: set[asyncio.Task[object]]
    _flushing: asyncio.Task[None] | None

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function` in a store thread, one at a time for this folder."""
        async with self._lock:
            return await self._thread(function, *args)

    async def _thread(self, function: Callable[..., T], *args: object) -> T:
        try:
            return await self._threads.run(function, *args)
        finally:
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Have the index's queued writes made in a store thread of their own, now that
        the caller has its answer (the index is a cache: see index.py)."""
        if self._flushing is not None or not self._state.writes_pending():
            return
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._flush())
        self._flushing = task
        self._background.add(task)
        task.add_done_callback(self._background_done)

    async def _flush(self) -> None:
        try:
            await self._threads.run(self._state.flush_index)
        finally:
            self._flushing = None
        self._flush_soon()  # written meanwhile

    def _in_background(self, function: Callable[..., object], *args: object) -> None:
        """Run `function` in a store thread once the folder's work so far is done,
        without waiting for it: work that only saves later work. The folder's next
        operations queue behind it; closing the folder waits for it."""
        task = asyncio.get_running_loop().create_task(self._run(function, *args))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: background work failed: %s", self.path, task.exception())

    async def settled(self) -> None:
        """Wait for the background work started so far (tests, and closing)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
