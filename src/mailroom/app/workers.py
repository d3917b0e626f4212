"""The main process's side of worker processes (config `[server] workers = N`).

One Python process runs one core at a time, and an IMAP command costs about a
millisecond of CPU, so a busy host needs several processes (Dovecot runs one per
client). With N > 1 the main process binds every listener as before and keeps
the queue, delivery from it and the control socket; N workers (`worker.py`, each a fresh
`python -m mailroom.app.worker`, never a fork of a running event loop) serve the IMAP,
POP3 and SMTP connections, which the main process accepts and hands to the worker with
the fewest open connections (`net.handoff`); a worker's SMTP hands what it queues over
to the main process, the queue's one owner (`worker_queue.py`).

A worker takes its configuration from the main process, not from the file: the main
process's `Config` as JSON in an unnamed file whose descriptor the worker inherits
(`config_fd`; not on the command line, which every local user can read, nor over the
link, whose frames are bounded). A file edited since the main process read it (and
not reloaded by it) thus never reaches a worker started again after a crash, and all
processes of a host serve one configuration.

Each worker has a link to the main process (a Unix socket pair, `mailroom.ipc`) over
which it asks the host's one login throttle (`auth.remote_throttle`) and the host's
count of logins per account and address (`app/user_ip_logins.py`), hears and tells
folder changes (`store.event_hub`, so IDLE wakes across processes), reports closed
connections and answers the main process's requests for its metrics (`metrics.combined`:
why not prometheus-client's multiprocess mode is said there). A link at end-of-file
means the main process is gone: the worker stops (and on Linux the kernel sends it
SIGTERM then, PR_SET_PDEATHSIG). A worker that dies is started again after a delay that
doubles up to `MAX_RESTART_DELAY`; SIGTERM stops them all before the main process ends,
SIGHUP is passed on (certificates).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mailroom.app.process_limits import (
    describe_host_limits,
    host_limits,
    open_file_limit,
    process_room,
)
from mailroom.app.user_ip_logins import LoginCountService
from mailroom.auth import Throttle
from mailroom.auth.remote_throttle import ThrottleService
from mailroom.config import Config, Listener
from mailroom.ipc import Link, LinkClosed, Message
from mailroom.ipc.link import OneWay
from mailroom.metrics.combined import (
    Samples,
    WorkerTotals,
    encode_samples,
    parse_samples,
    samples_of,
)
from mailroom.net.edge_limits import HostConnections
from mailroom.net.handoff import Handoff, channel_pair
from mailroom.store import MailboxEvents
from mailroom.store.event_hub import EventHub

log = logging.getLogger("mailroom.workers")

WORKER_MODULE = "mailroom.app.worker"
READY = "ready"
"""The kind of the frame a worker sends once it takes connections."""
CLOSED = "closed"
"""The kind of the frame a worker sends when connections it was handed are closed."""
METRICS = "metrics"
"""The kind of the request the main process sends for a worker's metric samples."""
METRICS_TIMEOUT = 2.0
"""Seconds a worker has to answer it; one that does not counts with its last answer."""
MAX_CLOSED = 1000
"""Connection ids in one closed frame at most."""
READY_TIMEOUT = 60.0
"""Seconds the main process waits at start for its workers to be ready."""
STOP_TIMEOUT = 15.0
"""Seconds workers get to end their sessions after SIGTERM before SIGKILL."""
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STABLE_SECONDS = 60.0
"""A worker that ran this long died of something new: its restart delay starts over."""


@dataclass
class WorkerSpec:
    """What a worker is told on its command line (JSON)."""

    config: str
    """The config file's path: relative paths in the config are resolved against it."""
    config_fd: int
    """File descriptor of an unnamed file holding the main process's config (JSON)."""
    parent: int
    index: int
    link: int
    """File descriptor of its end of the link."""
    handoff: int
    """File descriptor of its end of the handoff channel (net/handoff.py)."""
    listeners: list[str] = field(default_factory=list)
    """Names of the listeners whose connections it is handed."""

    def encode(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def decode(cls, text: str) -> WorkerSpec:
        return cls(**json.loads(text))


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    link: Link
    reading: asyncio.Task[None]
    ready: asyncio.Future[None]


class WorkerPool:
    """N worker processes, kept running until `stop()`."""

    def __init__(
        self,
        config: Config,
        count: int,
        listeners: list[Listener],
        events: MailboxEvents,
        throttle: Throttle,
        connections: HostConnections | None = None,
        *,
        link_handlers: dict[str, OneWay] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        """`link_handlers`: more one-way frames the workers send (app/worker_queue.py's
        `queued`); `on_exit`: called with a worker's index when it has ended."""
        if config.source is None:
            raise ValueError("worker processes need a config read from a file")
        self.config_path = config.source.resolve()
        self._config = config_bytes(config)
        self._limits = config.limits
        self._connections = connections
        self._files: dict[int, int] = {}
        """Each worker's open-file limit, as it said when ready."""
        self.count = count
        self._events = events
        self._throttle = ThrottleService(throttle)
        self._logins = LoginCountService(config.imap.max_connections_per_user_ip)
        self._hub: EventHub | None = None
        self._handoff = Handoff(listeners, connections)
        self._sockets: dict[str, list[socket.socket]] = {}
        self._live: dict[int, _Worker] = {}
        self._keepers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._link_handlers = dict(link_handlers or {})
        self._on_exit = on_exit
        self.metric_totals = WorkerTotals()
        """The workers' metric samples, as last answered (and those of ended workers)."""

    @property
    def pids(self) -> list[int]:
        """The live workers' process ids."""
        return [worker.process.pid for worker in self._live.values()]

    def open_connections(self) -> dict[int, int]:
        """Connections open per worker (by index)."""
        return self._handoff.open_connections()

    async def start(self, sockets: dict[str, list[socket.socket]]) -> None:
        """Start the workers, then accept on these listening sockets and hand what comes
        to them; return when the workers are ready (or after READY_TIMEOUT, logged)."""
        self._sockets = sockets
        self._hub = EventHub(self._events, relay=True)
        first: list[asyncio.Future[None]] = []
        for index in range(self.count):
            started = asyncio.get_running_loop().create_future()
            self._keepers.append(asyncio.create_task(self._keep(index, started)))
            first.append(started)
        _, late = await asyncio.wait(first, timeout=READY_TIMEOUT)
        if late:
            log.warning(
                "%d of %d workers not ready after %.0f s", len(late), self.count, READY_TIMEOUT
            )
        if self._connections is not None and self._files:
            log.info(
                "%s",
                describe_host_limits(
                    self._connections, self._limits, open_file_limit(), list(self._files.values())
                ),
            )
        for name, group in sockets.items():
            self._handoff.listen(name, group)

    async def _keep(self, index: int, started: asyncio.Future[None]) -> None:
        """Run worker `index`, and again whenever it dies, until the pool stops."""
        delay = FIRST_RESTART_DELAY
        loop = asyncio.get_running_loop()
        restarted = False
        while not self._stopping:
            began = loop.time()
            try:
                worker = await self._spawn(index)
            except OSError as error:
                log.error("worker %d: cannot start: %s", index, error)
                status = "not started"
            else:
                worker.ready.add_done_callback(lambda _: _settle(started))
                if restarted:  # at the first start, the limits line says all are ready
                    worker.ready.add_done_callback(functools.partial(_ready_again, worker))
                status = await self._until_exit(worker)
            restarted = True
            if self._stopping:
                return
            if loop.time() - began > STABLE_SECONDS:
                delay = FIRST_RESTART_DELAY
            log.warning("worker %d %s; starting it again in %.0f s", index, status, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    async def _spawn(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        handing, handed = channel_pair()
        config = config_file(self._config)
        spec = WorkerSpec(
            str(self.config_path),
            config.fileno(),
            os.getpid(),
            index,
            theirs.fileno(),
            handed.fileno(),
            sorted(self._sockets),
        )
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                WORKER_MODULE,
                spec.encode(),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=[theirs.fileno(), handed.fileno(), config.fileno()],
            )
        except OSError:
            ours.close()
            handing.close()
            raise
        finally:
            theirs.close()  # the worker's now; ours reads end-of-file when it is gone
            handed.close()
            config.close()
        self._handoff.add_worker(index, handing)
        link = Link(ours, name=f"worker {index} (pid {process.pid})")
        link.on(CLOSED, lambda message: self._closed(index, message))
        for kind, handler in self._link_handlers.items():
            link.on(kind, handler)
        ready = asyncio.get_running_loop().create_future()

        def on_ready(message: Message) -> None:
            files = parse_ready_files(message)
            self._files[index] = files
            self._handoff.ready(index, process_room(self._limits, files))
            self._derive_limits()
            _settle(ready)

        link.on(READY, on_ready)
        assert self._hub is not None
        self._hub.attach(link)
        self._throttle.serve(link)
        self._logins.serve(link)
        await link.open()
        worker = _Worker(index, process, link, asyncio.create_task(link.run()), ready)
        self._live[index] = worker
        log.info("worker %d started, pid %d", index, process.pid)
        return worker

    def _derive_limits(self) -> None:
        """The host's connection cap from what the workers' descriptors hold."""
        if self._connections is not None:
            self._connections.limits = host_limits(
                self._limits, open_file_limit(), list(self._files.values())
            )

    async def _until_exit(self, worker: _Worker) -> str:
        """Wait for the worker to end; say how it ended."""
        code = await worker.process.wait()
        self._live.pop(worker.index, None)
        self.metric_totals.retire(worker.process.pid)
        self._handoff.remove_worker(worker.index)
        if self._hub is not None:
            self._hub.detach(worker.link)
        self._logins.forget(worker.link)
        worker.link.close()
        with contextlib.suppress(asyncio.CancelledError):
            await worker.reading
        if self._on_exit is not None:
            self._on_exit(worker.index)
        how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"(pid {worker.process.pid}) {how}"

    async def collect_metrics(self) -> Samples:
        """Ask every live worker for its metric samples now; the workers' totals."""
        await asyncio.gather(*(self._ask_metrics(worker) for worker in list(self._live.values())))
        return self.metric_totals.totals()

    async def _ask_metrics(self, worker: _Worker) -> None:
        try:
            async with asyncio.timeout(METRICS_TIMEOUT):
                answer = await worker.link.request(METRICS, {})
            samples = parse_samples(answer.get("samples"))
        except (LinkClosed, TimeoutError, ValueError) as error:
            log.warning("worker %d: no metrics (%s); its last ones count", worker.index, error)
            return
        if self._live.get(worker.index) is worker:  # not ended (and retired) meanwhile
            self.metric_totals.update(worker.process.pid, samples)

    def _closed(self, index: int, message: Message) -> None:
        try:
            self._handoff.closed(index, parse_closed(message))
        except ValueError as error:
            log.warning("worker %d: %s", index, error)

    def reload(self) -> None:
        """SIGHUP: every worker re-reads its certificates."""
        self._signal_all(signal.SIGHUP)

    async def stop(self) -> None:
        """SIGTERM every worker, wait for them (SIGKILL after STOP_TIMEOUT)."""
        self._stopping = True
        self._handoff.stop()  # new connections wait in the backlog (and are refused at exit)
        self._signal_all(signal.SIGTERM)
        processes = [worker.process for worker in self._live.values()]
        waiting = [asyncio.ensure_future(process.wait()) for process in processes]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=STOP_TIMEOUT)
            if late:
                log.warning(
                    "%d workers still running after %.0f s: killed", len(late), STOP_TIMEOUT
                )
                self._signal_all(signal.SIGKILL)
                await asyncio.wait(waiting)
        for keeper in self._keepers:
            keeper.cancel()
        await asyncio.gather(*self._keepers, return_exceptions=True)
        self._keepers.clear()
        if self._hub is not None:
            self._hub.close()

    def _signal_all(self, signum: int) -> None:
        for worker in list(self._live.values()):
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signum)


def config_bytes(config: Config) -> bytes:
    """The config as a worker is given it (`worker_config` reads it back)."""
    return config.model_dump_json().encode()


def config_file(data: bytes) -> IO[bytes]:
    """An unnamed file (removed already, readable through its descriptor) holding `data`,
    at its start."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller once inherited
    handle.write(data)
    handle.flush()
    handle.seek(0)
    return handle


def worker_config(descriptor: int, source: Path) -> Config:
    """The config of the main process, from the file at `descriptor` (closed after);
    `source` is the config file's path, which relative paths are resolved against.
    ValueError (pydantic's ValidationError) if it is not a config."""
    with os.fdopen(descriptor, "rb") as handle:
        config = Config.model_validate_json(handle.read())
    config._source = source  # as the loader sets it
    return config


def ready_frame(pid: int, open_files: int) -> Message:
    return {"k": READY, "pid": pid, "files": open_files}


MAX_FILES = 1 << 31


def parse_ready_files(message: Message) -> int:
    """The open-file limit a ready frame says; the main process's own if it says none
    that is one (a worker inherits the main process's limits)."""
    files = message.get("files")
    if isinstance(files, bool) or not isinstance(files, int) or not 0 < files < MAX_FILES:
        log.warning("a worker's ready frame has no open-file limit: taken as ours")
        return open_file_limit()
    return files


def closed_frame(idents: list[int]) -> Message:
    return {"k": CLOSED, "ids": idents}


async def answer_metrics(message: Message) -> Message:
    """A worker's answer to the main process's metrics request: its samples now."""
    return {"samples": encode_samples(samples_of())}


def parse_closed(message: Message) -> list[int]:
    """The connection ids of a closed frame; ValueError if it is not one."""
    idents = message.get("ids")
    if not isinstance(idents, list) or not 0 < len(idents) <= MAX_CLOSED:
        raise ValueError("a closed frame needs connection ids")
    if not all(type(ident) is int and ident > 0 for ident in idents):
        raise ValueError("a closed frame's ids are positive integers")
    return idents


def _ready_again(worker: _Worker, _: asyncio.Future[None]) -> None:
    log.info("worker %d ready again, pid %d", worker.index, worker.process.pid)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
