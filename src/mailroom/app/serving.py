"""`mailroom serve`'s work: build and start the host, run until told to stop.

Signals are handled here and nowhere else: SIGINT/SIGTERM stop the host, SIGHUP
reloads its certificates and map files.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from mailroom.app.host import Host, open_host
from mailroom.app.process_limits import raise_open_file_limit
from mailroom.app.service_user import (
    ServiceUser,
    act_as,
    check_keys_readable,
    check_runnable,
    check_writable,
)
from mailroom.app.services import needs_tls
from mailroom.config import Config
from mailroom.net import TlsContexts

DISK_THREADS = 64


async def serve(
    config: Config,
    announce: Callable[[str], None],
    *,
    started: Callable[[Host], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    run_as: ServiceUser | None = None,
) -> None:
    """Build the host of `config` and start it (every listener, the delivery of queued
    mail); run until SIGINT/SIGTERM (or `stop` is set). SIGHUP re-reads certificates
    and map files. A listener whose protocol this version lacks is refused at start.

    `run_as` (`service_user(config)`, for a server started as root): the TLS keys are
    read as root, everything else is built as that user, the ports are bound as root,
    then the process becomes that user for good (service_user.py).

    The open-file limit is raised to its hard limit first (process_limits.py); the
    `mailroom` command has set the umask."""
    raise_open_file_limit()
    use_disk_threads()
    tls = None
    if run_as is not None:
        tls = TlsContexts(config) if needs_tls(config) else None
        act_as(run_as)
        check_runnable(run_as)
        check_writable(config, run_as)
        check_keys_readable(config, run_as)
    async with open_host(config, listen=True, announce=announce, run_as=run_as, tls=tls) as host:
        if started is not None:
            await started(host)
        announce("running; stop with Ctrl-C or SIGTERM, reload with SIGHUP")
        if stop is not None:
            await stop.wait()
        else:
            await _until_stopped(host.reload)
    announce("stopped")


def use_disk_threads() -> None:
    """Disk work (Maildir writes and their fsyncs) runs in threads; asyncio's default
    pool has only cores+4, and waiting fsyncs should overlap so the filesystem's
    journal can commit many at once."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=DISK_THREADS, thread_name_prefix="mailroom-disk")
    )


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def tune_garbage_collector() -> None:
    """A server's heap holds an object per message of every open folder, and a STORE or
    a FETCH makes thousands of small ones at a time: with the default thresholds the
    cyclic collector runs every few hundred of them and keeps walking the long-lived
    ones (about a tenth of a STORE's time on 10,000 messages). What start-up made lives
    as long as the process; the little cyclic garbage we make waits a little longer."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def _until_stopped(on_hangup: Callable[[], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
