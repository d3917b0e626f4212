"""Group commit: many messages made durable for the price of one directory fsync.

Making a queued message durable takes an fsync of each of its files, a
rename into `active/`, and an fsync of `active/` so that the new names
survive a power cut. The first two are per message; the directory fsync can
be shared: any fsync of `active/` that *starts* after a rename makes that
rename durable. So, as databases do for their logs (leader/follower group
commit), a thread whose renames are done either finds such an fsync already
finished, or becomes the leader and runs one for every rename made so far,
or waits for the leader of the moment to finish and then looks again. While
one directory fsync runs, the renames made meanwhile gather for the next;
there is no timer, so a lone message is never made to wait.

No caller is told "done" before a directory fsync that started after its
rename has finished, and a change whose files could not be synced is never
renamed. Everything runs in one pool thread per change (one hop off the
event loop, like the naive way), so the event loop never waits on a disk.
`batching=False` keeps one full chain per change, for `bench/queue_commit.py`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mailroom.durable import fsync_directory

DEFAULT_THREADS = 32
"""Changes being synced at once (the file system folds concurrent fsyncs together)."""


@dataclass(frozen=True)
class DurableRename:
    """What a caller hands over: files to make durable, then renames into `directory`."""

    syncs: Sequence[Callable[[], None]]
    """Each writes what is left of one file and fsyncs it."""
    rename: Callable[[], None]
    """Renames the synced files into `directory` (or removes names from it); runs only
    if every sync succeeded."""
    directory: Path


class SharedDirectorySync:
    """Leader/follower fsync of one directory, for threads that have renamed into it."""

    def __init__(self, directory: Path, sync: Callable[[Path], None] = fsync_directory) -> None:
        self.directory = directory
        self._sync = sync
        self._condition = threading.Condition()
        self._renamed = 0
        """Tickets handed out: one per rename finished."""
        self._covered = 0
        """Every ticket up to this one is durable as of the last finished fsync..."""
        self._error: OSError | None = None
        """...unless that fsync failed."""
        self._syncing = False
        self.syncs = 0
        """Directory fsyncs run so far."""

    def renamed(self) -> int:
        """Take a ticket: call right after a rename into the directory has finished."""
        with self._condition:
            self._renamed += 1
            return self._renamed

    def wait_durable(self, ticket: int) -> None:
        """Return once a directory fsync that started after `ticket` was taken has
        finished; raise its error if it failed."""
        with self._condition:
            while self._covered < ticket:
                if not self._syncing:
                    self._syncing = True
                    covering = self._renamed
                    break
                self._condition.wait()
            else:
                if self._error is not None:
                    raise self._error
                return
        error: OSError | None = None
        try:
            self._sync(self.directory)
        except OSError as failure:
            error = failure
        with self._condition:
            self._syncing = False
            self._covered = covering
            self._error = error
            self.syncs += 1
            self._condition.notify_all()
        if error is not None:
            raise error


class GroupCommitter:
    def __init__(self, *, threads: int = DEFAULT_THREADS, batching: bool = True) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="queue-commit")
        self._batching = batching
        self._directories: dict[Path, SharedDirectorySync] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def batches(self) -> int:
        """Shared directory fsyncs run so far (for the bench and tests)."""
        return sum(shared.syncs for shared in self._directories.values())

    async def run(self, change: DurableRename) -> None:
        """Make `change` durable: return once its files are synced and renamed, and
        a directory fsync that started after the rename has finished. A failed
        sync, rename or directory fsync is raised here. If this await is
        cancelled, the change still runs to its end (unreported).
        """
        if self._closed:
            raise RuntimeError("the committer is closed")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._commit, change)

    def _commit(self, change: DurableRename) -> None:
        for sync in change.syncs:
            sync()
        change.rename()
        if not self._batching:
            fsync_directory(change.directory)
            return
        with self._lock:
            shared = self._directories.get(change.directory)
            if shared is None:
                shared = self._directories[change.directory] = SharedDirectorySync(change.directory)
        shared.wait_durable(shared.renamed())

    async def close(self) -> None:
        """Finish the changes under way, then stop the threads."""
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True)
