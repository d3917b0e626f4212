"""The store's worker threads: results and errors come back to the caller's task,
work handed in always runs, and shutdown waits for it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mailroom.store.threads import StoreThreads


async def test_a_call_runs_in_a_store_thread_and_its_result_comes_back() -> None:
    threads = StoreThreads(2)
    try:
        name = await threads.run(lambda: threading.current_thread().name)
        assert name.startswith("mailroom-store_")
        assert await threads.run(divmod, 17, 5) == (3, 2)
    finally:
        await asyncio.to_thread(threads.shutdown)


async def test_an_exception_reaches_the_caller() -> None:
    threads = StoreThreads(1)
    try:
        with pytest.raises(ZeroDivisionError):
            await threads.run(divmod, 1, 0)
        assert await threads.run(len, "still working") == 13
    finally:
        await asyncio.to_thread(threads.shutdown)


async def test_calls_run_at_once_up_to_the_number_of_threads() -> None:
    threads = StoreThreads(3)
    everyone_in = threading.Barrier(3, timeout=30)
    try:
        # Each call waits until all three run at the same time: with fewer threads the
        # barrier would break (BrokenBarrierError) instead of letting them through.
        assert await asyncio.gather(*(threads.run(everyone_in.wait) for _ in range(3)))
    finally:
        await asyncio.to_thread(threads.shutdown)


async def test_work_handed_in_runs_even_when_its_caller_stops_waiting() -> None:
    threads = StoreThreads(1)
    release = threading.Event()
    done = threading.Event()

    def slow_change() -> None:
        release.wait(30)
        done.set()

    task = asyncio.create_task(threads.run(slow_change))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.to_thread(threads.shutdown)  # waits for what was handed in

    assert done.is_set()


async def test_no_call_is_taken_after_shutdown() -> None:
    threads = StoreThreads(1)
    await threads.run(int)
    await asyncio.to_thread(threads.shutdown)

    with pytest.raises(RuntimeError, match="shut down"):
        await threads.run(int)


def _pool_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(name + "_")]


async def test_quick_calls_one_after_another_start_no_thread_beyond_the_core() -> None:
    threads = StoreThreads(8, name="quick-pool", core=2, patience=0.05)
    try:
        for number in range(50):
            assert await threads.run(abs, -number) == number
        assert len(_pool_threads("quick-pool")) == 2
    finally:
        await asyncio.to_thread(threads.shutdown)


async def test_calls_waiting_behind_long_ones_get_more_threads_which_leave_after() -> None:
    threads = StoreThreads(3, name="busy-pool", core=1, patience=0.01)
    release = threading.Event()
    try:
        # The core thread is held by a long call: the quick one gets a thread of its own.
        long_call = asyncio.create_task(threads.run(release.wait, 30))
        assert await threads.run(abs, -5) == 5
        assert not long_call.done()
        # Never more than `workers`: two more long calls hold them all, and a third
        # waits for one of them to end.
        more = [asyncio.create_task(threads.run(release.wait, 30)) for _ in range(2)]
        waiting = asyncio.create_task(threads.run(abs, -7))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(_pool_threads("busy-pool")) == 3:
                break
        await asyncio.sleep(0.1)
        assert len(_pool_threads("busy-pool")) == 3
        assert not waiting.done()
        release.set()
        assert await waiting == 7
        assert all(await asyncio.gather(long_call, *more))
        # The threads started for the backlog leave once nothing waits.
        for _ in range(100):
            if len(_pool_threads("busy-pool")) == 1:
                break
            await asyncio.sleep(0.01)
        assert len(_pool_threads("busy-pool")) == 1
    finally:
        release.set()
        await asyncio.to_thread(threads.shutdown)
    assert _pool_threads("busy-pool") == []
