"""The store's worker threads: where its blocking disk and index work runs.

Not `loop.run_in_executor` with a ThreadPoolExecutor: that makes a
concurrent.futures.Future per call, chains it to an asyncio future through two
callbacks and copies the outcome across, and takes a semaphore to decide whether to
start a thread. Under a many-client IMAP load, where most commands make one or two
short trips into a thread, that bookkeeping was a seventh of the event loop's busy
time. Here a call is a tuple on a queue and, when it is done, one
`call_soon_threadsafe` that sets the caller's asyncio future.

The core threads start with the first call and live until `shutdown`; more start
only while calls wait (`StoreThreads`). Work handed in always runs, also when its
caller stopped waiting (cancelled): as with an executor, a started disk change is
never abandoned halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[
    int, asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], tuple[object, ...]
]


CORE_THREADS = 2
"""Threads that are always there: under a many-client load, two threads that take the
next call as they finish the last served more commands than eight (py-spy and
imap_load.py, bench/README.md): each call handed to an idle thread wakes it (a context
switch, a futex, a turn of the GIL), and eight threads mostly idle are woken for nearly
every call."""
PATIENCE_SECONDS = 0.005
"""How long a call may wait for a thread before one more is started (up to `workers`)."""


class StoreThreads:
    """Up to `workers` threads that run blocking calls for the event loop: `core` of
    them always, and more only while calls wait longer than `patience` (every thread
    busy with a long read, a big COPY or a slow disk), which leave again once nothing
    waits: a long call never holds the others up for long."""

    def __init__(
        self,
        workers: int,
        name: str = "mailroom-store",
        *,
        core: int = CORE_THREADS,
        patience: float = PATIENCE_SECONDS,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.core = max(1, min(core, workers))
        self.patience = patience
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._guard = threading.Lock()  # around changes to _threads
        self._names = itertools.count()
        self._handed = 0
        """The number of the last call handed in (the event loop's thread writes it)."""
        self._taken = 0
        """About the highest number of a call a thread has taken (the threads write it)."""
        self._watching = False
        self._closed = False

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in one of the threads; its result or exception here."""
        if self._closed:
            raise RuntimeError("the store's threads have been shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._threads:
            for _ in range(self.core):
                self._start(extra=False)
        self._handed += 1
        self._calls.put((self._handed, loop, future, function, args))
        if not self._watching and len(self._threads) < self.workers:
            self._watching = True
            loop.call_later(self.patience, self._watch, self._handed)
        return await future

    def _watch(self, handed: int) -> None:
        """`patience` after call `handed` came: if it still waits, every thread is busy,
        so one more starts (up to `workers`); and the watch goes on while calls wait."""
        self._watching = False
        if self._closed:
            return
        if self._taken < handed and len(self._threads) < self.workers:
            self._start(extra=True)
        if self._taken < self._handed and len(self._threads) < self.workers:
            self._watching = True
            asyncio.get_running_loop().call_later(self.patience, self._watch, self._handed)

    def shutdown(self) -> None:
        """Let the threads finish what was handed in, then stop them (blocks)."""
        self._closed = True
        with self._guard:
            threads = list(self._threads)
        for _ in range(self.workers):  # one each for as many threads as there may be
            self._calls.put(None)
        for thread in threads:
            thread.join()

    def _start(self, *, extra: bool) -> None:
        thread = threading.Thread(
            target=self._work,
            args=(extra,),
            name=f"{self.name}_{next(self._names)}",
            daemon=True,
        )
        with self._guard:
            self._threads.append(thread)
        thread.start()

    def _work(self, extra: bool) -> None:
        """Take calls in turn; a thread started for a backlog leaves once it is gone."""
        calls = self._calls
        try:
            while True:
                if extra:
                    try:
                        call = calls.get_nowait()
                    except queue.Empty:
                        return
                else:
                    call = calls.get()
                if call is None:
                    return
                number, loop, future, function, args = call
                if number > self._taken:
                    self._taken = number
                try:
                    result = function(*args)
                except BaseException as error:  # handed to the caller, as an executor does
                    _settle(loop, future, None, error)
                else:
                    _settle(loop, future, result, None)
                finally:
                    del call, future, args  # nothing of a finished call stays referenced
        finally:
            with self._guard:
                self._threads.remove(threading.current_thread())


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: object,
    error: BaseException | None,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(_set, future, result, error)


def _set(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
