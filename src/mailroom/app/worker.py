"""A worker process: serves the IMAP, POP3 and SMTP connections its main process accepts and
hands it (see workers.py and net/handoff.py). Started as `python -m mailroom.app.worker SPEC`
by the main process only; SPEC (JSON) names the config file and the inherited file
descriptors.

It builds the services IMAP and POP3 use from the main process's config (its own
directory connection and mail store; the main process's throttle, count of logins per
account and address, and event hub over its link),
serves until SIGTERM or until the main process is gone (its link or handoff channel
ends), then ends its sessions as the main process would. SIGINT is ignored: Ctrl-C reaches the whole
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
from collections.abc import Callable
from pathlib import Path

import uvloop

from mailroom.app.logging_setup import configure_logging
from mailroom.app.process_limits import (
    host_connections,
    open_file_limit,
    raise_open_file_limit,
    use_private_umask,
)
from mailroom.app.protocols import WORKER_PROTOCOLS
from mailroom.app.services import Services, imap_services, open_services, outbound_delivery
from mailroom.app.serving import tune_garbage_collector, use_disk_threads
from mailroom.app.standalone import bouncer_for
from mailroom.app.user_ip_logins import RemoteLoginCounts
from mailroom.app.worker_queue import hand_over, worker_slot
from mailroom.app.workers import (
    METRICS,
    WorkerSpec,
    answer_metrics,
    closed_frame,
    ready_frame,
    worker_config,
)
from mailroom.auth.remote_throttle import RemoteThrottle
from mailroom.config import Config, Protocol
from mailroom.delivery.dispatcher import Dispatcher
from mailroom.imap.server import ImapServer
from mailroom.ipc import Link
from mailroom.net import ListeningServer
from mailroom.net.handoff import Adopt, Handed, HandoffReceiver
from mailroom.queue import use_process_slot
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
    link.answer(METRICS, answer_metrics)
    await link.open()
    reading = asyncio.create_task(link.run())
    # Queue ids of its own (the main process's slot is 0): SMTP and Sieve commit here.
    use_process_slot(worker_slot(spec.index))
    async with contextlib.AsyncExitStack() as stack:
        services = await open_services(
            config, stack, make_secrets=False, throttle=RemoteThrottle(link)
        )
        await services.queue.open_for_writing(hand_over(link))
        hub = EventHub(services.events, relay=False)
        hub.attach(link)
        stack.callback(hub.close)
        servers = worker_servers(config, services, spec.listeners, RemoteLoginCounts(link))
        receiver = HandoffReceiver(socket.socket(fileno=spec.handoff), adopter(servers, link))
        receiver.start()
        link.send(ready_frame(os.getpid(), open_file_limit()))
        await _until_told_to_stop(
            [reading, receiver.ended], services.tls.reload if services.tls else None
        )
        receiver.stop()
        for server in servers:
            await server.stop()
    link.close()


def worker_servers(
    config: Config, services: Services, names: list[str], logins: RemoteLoginCounts
) -> list[ListeningServer]:
    """The servers of the listeners a worker is handed connections of; its IMAP
    servers count logins per account and address in the main process (`logins`)."""
    servers = []
    delivery = immediate_delivery(services)
    # The main process counts the host's connections; a worker counts its handshakes.
    connections = host_connections(config)
    for listener in config.listeners:
        builder = WORKER_PROTOCOLS.get(listener.protocol)
        if builder is not None and listener.name in names:
            handler = (
                ImapServer(listener, imap_services(services), logins)
                if listener.protocol is Protocol.IMAP
                else builder(services, delivery)(listener)
            )
            servers.append(
                ListeningServer(listener, handler, services.tls, connections=connections)
            )
    return servers


def immediate_delivery(services: Services) -> Dispatcher:
    """A worker's SMTP delivery: `deliver_now` only (its queue hands everything else to
    the main process, whose dispatcher delivers, retries and bounces)."""
    config = services.config
    return Dispatcher(
        services.queue,
        services.router,
        services.local_delivery,
        outbound=outbound_delivery(config, services.router, services.srs, services.resolver),
        bouncer=bouncer_for(config, services.queue, services.router, services.srs),
    )


def adopter(servers: list[ListeningServer], link: Link) -> Adopt:
    """Serves each handed connection on its listener's server; tells the main process
    when it is closed (so that it counts it no more)."""
    by_name = {server.listener.name: server for server in servers}

    def adopt(connection: socket.socket, handed: Handed) -> None:
        def released() -> None:
            link.send(closed_frame([handed.ident]))

        server = by_name.get(handed.listener)
        if server is None:
            log.error("handed a connection of an unknown listener %.40r", handed.listener)
            connection.close()
            released()
            return
        server.adopt(connection, refusal=handed.refusal, released=released)

    return adopt


async def _until_told_to_stop(
    ends: list[asyncio.Future[None]], reload: Callable[[], object] | None
) -> None:
    """Until SIGTERM, or the main process is gone (its link or channel ended)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, reload)
    for end in ends:
        end.add_done_callback(lambda _: stop.set())
    await stop.wait()
    if any(end.done() for end in ends):
        log.warning("the main process is gone: stopping")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    use_private_umask()
    raise_open_file_limit()
    spec = WorkerSpec.decode(sys.argv[1])
    die_with_parent(spec.parent)
    config = worker_config(spec.config_fd, Path(spec.config))
    configure_logging(config, process=f"worker {spec.index}")
    tune_garbage_collector()
    uvloop.run(run_worker(config, spec))


if __name__ == "__main__":
    main()
