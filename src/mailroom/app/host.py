"""The host: every service of one config, built once, started in order and stopped in
the reverse order.

Building (`open_host`) reads and checks everything the config names (the directory,
map files, certificates, the relay host's password, each listener's protocol) and
takes no lock and opens no port, so `mailroom config check` builds exactly what
`mailroom serve` builds and refuses what it would refuse. Starting migrates the
directory, wraps legacy password hashes in argon2id, opens the queue (its lock: one host
per queue), starts delivery and the control channel, then the listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias

from mailroom.app.host_files import HostFileError, ListenError, control_socket, data_dir
from mailroom.app.monitoring import HostMonitoring, history_path
from mailroom.app.process_limits import describe_limits, host_connections
from mailroom.app.protocols import WORKER_PROTOCOLS, describe_listener, protocol_builders
from mailroom.app.secret_files import create_private_file, sqlite_file
from mailroom.app.service_user import ServiceUser, drop_for_good, privileged
from mailroom.app.services import Services, open_services, outbound_delivery
from mailroom.app.standalone import bouncer_for
from mailroom.app.worker_queue import QUEUED, QueueAdoption
from mailroom.app.workers import WorkerPool
from mailroom.config import Config, Protocol
from mailroom.control import ControlServer
from mailroom.control.administration import QueueAdministration
from mailroom.delivery.bounces import Bouncer
from mailroom.delivery.dispatcher import Dispatcher
from mailroom.directory import DirectoryError
from mailroom.metrics.history import HourlyHistory
from mailroom.net import ListeningServer, TlsContexts
from mailroom.net.edge_limits import HostConnections

if TYPE_CHECKING:
    from mailroom.web.server import WebServer

Server: TypeAlias = "ListeningServer | WebServer"
"""A listener's server: a protocol's sessions, or the web application."""

log = logging.getLogger("mailroom")


class Host:
    """One mail host: its shared services, delivery, control channel and listeners."""

    def __init__(
        self,
        services: Services,
        bouncer: Bouncer,
        dispatcher: Dispatcher,
        control: ControlServer,
        servers: list[Server],
        workers: WorkerPool | None = None,
        run_as: ServiceUser | None = None,
        connections: HostConnections | None = None,
        monitoring: HostMonitoring | None = None,
    ) -> None:
        self.services = services
        self.config = services.config
        self.bouncer = bouncer
        self.dispatcher = dispatcher
        self.control = control
        self.servers = servers
        """One per listener of the config, in its order; listening once started."""
        self.workers = workers
        """With `[server] workers` > 1: the processes that serve IMAP, POP3 and SMTP."""
        self.run_as = run_as
        """Started as root: the service user it binds its ports for, then becomes."""
        self.connections = connections
        """The host's connection counts and limits (`[limits]`), shared by its listeners."""
        self.monitoring = monitoring
        """`/metrics`, `/healthz` and the hourly history (app/monitoring.py)."""
        self._delivering: asyncio.Task[None] | None = None
        self._wrapping: asyncio.Task[None] | None = None
        self._listening: list[Server] = []

    def port(self, name: str) -> int:
        """The port the listener called `name` is bound to."""
        return next(s.port for s in self._listening if s.listener.name == name)

    def listeners(self) -> list[str]:
        """What listens (or would listen) where, one line per listener."""
        return [describe_listener(server.listener) for server in self.servers]

    async def start(self, announce: Callable[[str], None]) -> None:
        """Migrate the directory, open the queue, deliver, answer the control channel,
        listen. On an error, what started stays started: `stop()` stops it.

        With `run_as` (started as root) the listeners are bound first, as root, and the
        process then becomes the service user for good before anything else starts: no
        session, delivery or worker ever runs as root."""
        database = sqlite_file(self.config)
        if database is not None and database.parent.is_dir():
            create_private_file(database)  # 0600 before SQLite writes a hash into it
        await self.services.directory.migrate()
        missing_postmaster = await self.services.router.missing_postmaster()
        if missing_postmaster is not None:
            log.warning("%s", missing_postmaster)
        await self.services.queue.open()
        if self.run_as is not None:
            with privileged(self.run_as):
                await self._listen(announce, serving=False)
            drop_for_good(self.run_as)
            announce(f"root dropped: user {self.run_as.name}, group {self.run_as.group}")
        if self.connections is not None and self.workers is None:  # else said by the pool
            announce(describe_limits(self.connections))
        self._delivering = asyncio.create_task(self.dispatcher.run())
        if self.monitoring is not None:
            self.monitoring.start(self._delivering)
        # `mailroom queue flush|hold|release|delete|bounce` ask this host over it.
        await self.control.start()
        if self.run_as is None:
            await self._listen(announce, serving=True)
        else:
            for server in self._listening:
                if not self._for_workers(server):
                    await server.start_serving()
        if self.workers is not None:
            shared = [server for server in self._listening if self._for_workers(server)]
            await self.workers.start({server.listener.name: server.sockets for server in shared})
            announce(f"workers: {self.workers.count} processes serve IMAP, POP3 and SMTP")
        # No crackable hash kept: legacy hashes wrapped in argon2id, in the background.
        self._wrapping = asyncio.create_task(self._wrap_legacy_hashes())

    async def _wrap_legacy_hashes(self) -> None:
        try:
            await self.services.authenticator.wrap_legacy_hashes()
        except DirectoryError as error:
            log.warning(
                "auth: legacy password hashes not wrapped (next start tries again): %s", error
            )

    async def _listen(self, announce: Callable[[str], None], *, serving: bool) -> None:
        """Bind every listener; accept on those the main process serves if `serving`."""
        for server in self.servers:
            listener = server.listener
            try:
                await server.start(serving=serving and not self._for_workers(server))
            except OSError as error:
                raise ListenError(
                    f"listener {listener.name}: cannot listen on "
                    f"{listener.address}: {error.strerror or error}"
                ) from None
            self._listening.append(server)
            announce(f"listening: {describe_listener(listener)}")

    def _for_workers(self, server: Server) -> bool:
        """Whether worker processes accept on this listener (the main process does not)."""
        return self.workers is not None and server.listener.protocol in WORKER_PROTOCOLS

    async def stop(self) -> None:
        """Stop what `start` started, the listeners first (their sessions end there)."""
        if self.monitoring is not None:  # while the workers can still tell their counts
            await self.monitoring.stop()
        if self.workers is not None:
            await self.workers.stop()
        await self.control.close()
        for server in reversed(self._listening):
            await server.stop()
        self._listening.clear()
        if self._wrapping is not None:
            self._wrapping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._wrapping
            self._wrapping = None
        if self._delivering is not None:
            self._delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivering
            self._delivering = None

    def reload(self) -> None:
        """SIGHUP: new certificates and map files; a bad file keeps the last good one."""
        log.info("SIGHUP: reloading certificates and map files")
        if self.services.tls is not None:
            self.services.tls.reload()
        self.services.router.reload()
        if self.workers is not None:
            self.workers.reload()


def check_data_dir(config: Config) -> None:
    """Refuse a data_dir that is there but no directory (serve would fail in the queue)."""
    path = data_dir(config)
    if path.exists() and not path.is_dir():
        raise HostFileError(f"{path}: data_dir is not a directory; set data_dir in {config.source}")


def worker_pool(services: Services, connections: HostConnections) -> WorkerPool | None:
    """The worker processes `[server] workers` asks for; None for one process. The main
    process counts their connections in `connections` with its own."""
    config = services.config
    count = config.server.worker_count(os.cpu_count())
    if count <= 1 or not any(each.protocol in WORKER_PROTOCOLS for each in config.listeners):
        return None
    if config.source is None:
        raise HostFileError("[server] workers needs a config file for the workers to read")
    served = [each for each in config.listeners if each.protocol in WORKER_PROTOCOLS]
    adoption = QueueAdoption(services.queue)  # the workers' SMTP queues into ours
    return WorkerPool(
        config,
        count,
        served,
        services.events,
        services.throttle,
        connections,
        link_handlers={QUEUED: adoption.on_queued},
        on_exit=adoption.worker_ended,
    )


def web_servers(
    services: Services, administration: QueueAdministration, monitoring: HostMonitoring
) -> dict[str, WebServer]:
    """The web admin's server of each web listener, by the listener's name. The web
    application (Starlette, Jinja2, uvicorn) is imported only for a config that has one:
    it costs every process that starts it ~0.2 s of CPU."""
    listeners = [each for each in services.config.listeners if each.protocol is Protocol.WEB]
    if not listeners:
        return {}
    from mailroom.app.web import web_server, web_services

    web = web_services(services, administration, monitoring)
    return {listener.name: web_server(services, web, listener) for listener in listeners}


RunningHost = Host
"""What `serve` hands to its `started` hook (the name tests know it by)."""


@asynccontextmanager
async def open_host(
    config: Config,
    *,
    listen: bool,
    announce: Callable[[str], None] = lambda line: None,
    run_as: ServiceUser | None = None,
    tls: TlsContexts | None = None,
) -> AsyncIterator[Host]:
    """The host of `config`, built; started too if `listen`. Everything is stopped and
    closed on exit. Without `listen` nothing is written (no SRS secret is made, the
    directory is not migrated) and no lock is taken, so it is safe beside a running
    server. `run_as` and `tls`: see `serve` (a server started as root)."""
    builders = protocol_builders(config)  # an unbuilt protocol is refused before any work
    check_data_dir(config)
    async with contextlib.AsyncExitStack() as stack:
        services = await open_services(config, stack, make_secrets=listen, tls=tls)
        bouncer = bouncer_for(config, services.queue, services.router, services.srs)
        dispatcher = Dispatcher(
            services.queue,
            services.router,
            services.local_delivery,
            outbound=outbound_delivery(config, services.router, services.srs, services.resolver),
            bouncer=bouncer,
        )
        administration = QueueAdministration(services.queue, bouncer)
        control = ControlServer(control_socket(config), administration.handle)
        factories = {
            protocol: builder(services, dispatcher) for protocol, builder in builders.items()
        }
        connections = host_connections(config)
        workers = worker_pool(services, connections)
        monitoring = HostMonitoring(services, workers, HourlyHistory.load(history_path(services)))
        web = web_servers(services, administration, monitoring)
        servers: list[Server] = [
            web[listener.name]
            if listener.protocol is Protocol.WEB
            else ListeningServer(
                listener,
                factories[listener.protocol](listener),
                services.tls,
                connections=connections,
            )
            for listener in config.listeners
        ]
        host = Host(
            services,
            bouncer,
            dispatcher,
            control,
            servers,
            workers,
            run_as,
            connections,
            monitoring,
        )
        if listen:
            stack.push_async_callback(host.stop)
            await host.start(announce)
        yield host
