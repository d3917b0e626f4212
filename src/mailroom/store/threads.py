"""The store's worker threads: where its blocking disk and index work runs.

Not `loop.run_in_executor` with a ThreadPoolExecutor: that makes a
concurrent.futures.Future per call, chains it to an asyncio future through two
callbacks and copies the outcome across, and takes a semaphore to decide whether to
start a thread. Under a many-client IMAP load, where most commands make one or two
short trips into a thread, that bookkeeping was a seventh of the event loop's busy
time. Here a call is a tuple on a queue and, when it is done, one
`call_soon_threadsafe` that sets the caller's asyncio future.

The threads start with the first call and live until `shutdown`. Work handed in
always runs, also when its caller stopped waiting (cancelled): as with an
executor, a started disk change is never abandoned halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[
    asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], tuple[object, ...]
]


class StoreThreads:
    """A fixed-size pool of threads that run blocking calls for the event loop."""

    def __init__(self, workers: int, name: str = "mailroom-store") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in one of the threads; its result or exception here."""
        if self._closed:
            raise RuntimeError("the store's threads have been shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._threads:
            self._start()
        self._calls.put((loop, future, function, args))
        return await future

    def shutdown(self) -> None:
        """Let the threads finish what was handed in, then stop them (blocks)."""
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()

    def _start(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"{self.name}_{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        calls = self._calls
        while True:
            call = calls.get()
            if call is None:
                return
            loop, future, function, args = call
            try:
                result = function(*args)
            except BaseException as error:  # handed to the caller, as an executor does
                _settle(loop, future, None, error)
            else:
                _settle(loop, future, result, None)
            finally:
                del call, future, args  # nothing of a finished call stays referenced


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
