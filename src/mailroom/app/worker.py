"""A worker process: serves the IMAP and POP3 listeners of a host on the sockets its
main process bound (see workers.py). Started as `python -m mailroom.app.worker SPEC`
by the main process only; SPEC (JSON) names the config file and the inherited file
descriptors.

It builds the services IMAP and POP3 use from the same config file (its own directory
connection and mail store; the main process's throttle and event hub over its link),
accepts until SIGTERM or until the link to the main process ends, then stops its
listeners as the main process would. SIGINT is ignored: Ctrl-C reaches the whole
process group, and the main process decides when workers stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import uvloop

from mailroom.app.protocols import WORKER_PROTOCOLS
from mailroom.app.serve import configure_logging, tune_garbage_collector, use_disk_threads
from mailroom.app.services import open_services
from mailroom.app.workers import WorkerSpec, ready_frame
from mailroom.auth.remote_throttle import RemoteThrottle
from mailroom.config import Config, load_config
from mailroom.ipc import Link
from mailroom.net import ListeningServer
from mailroom.store.event_hub import EventHub

log = logging.getLogger("mailroom.workers")

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Linux: the kernel sends SIGTERM when the main process dies, however it dies. The
    link's end-of-file does the same everywhere; this also covers a worker stuck in a
    long call. Exits at once if the parent is already gone (it died before prctl)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(0)


async def run_worker(config: Config, spec: WorkerSpec) -> None:
    use_disk_threads()
    link = Link(socket.socket(fileno=spec.link), name="main process")
    await link.open()
    reading = asyncio.create_task(link.run())
    async with contextlib.AsyncExitStack() as stack:
        services = await open_services(
            config, stack, make_secrets=False, throttle=RemoteThrottle(link)
        )
        hub = EventHub(services.events, relay=False)
        hub.attach(link)
        stack.callback(hub.close)
        servers = []
        for listener in config.listeners:
            builder = WORKER_PROTOCOLS.get(listener.protocol)
            if builder is None or listener.name not in spec.listeners:
                continue
            server = ListeningServer(listener, builder(services)(listener), services.tls)
            server.start_on([socket.socket(fileno=fd) for fd in spec.listeners[listener.name]])
            servers.append(server)
        link.send(ready_frame(os.getpid()))
        await _until_told_to_stop(reading, services.tls.reload if services.tls else None)
        for server in servers:
            await server.stop()
    link.close()


async def _until_told_to_stop(reading: asyncio.Task[None], reload: object) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if callable(reload):
        loop.add_signal_handler(signal.SIGHUP, reload)
    reading.add_done_callback(lambda _: stop.set())  # the main process is gone
    await stop.wait()
    if reading.done():
        log.warning("the main process is gone: stopping")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec = WorkerSpec.decode(sys.argv[1])
    die_with_parent(spec.parent)
    config = load_config(Path(spec.config))
    configure_logging(config, process=f"worker {spec.index}")
    tune_garbage_collector()
    uvloop.run(run_worker(config, spec))


if __name__ == "__main__":
    main()
