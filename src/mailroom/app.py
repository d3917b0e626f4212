"""The composition root: builds Mailroom's services from the config and runs them.

Only this module wires packages together; protocols and stores never construct
each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.asyncresolver

from mailroom.auth import Authenticator, MemoryThrottle
from mailroom.config import Config, Listener, Protocol, TlsMode
from mailroom.control import CONTROL_SOCKET, ControlServer
from mailroom.delivery.administration import QueueAdministration
from mailroom.delivery.bounces import Bouncer
from mailroom.delivery.dispatcher import Dispatcher
from mailroom.delivery.local import LocalDelivery
from mailroom.delivery.mta_sts_cache import MtaStsPolicies
from mailroom.delivery.mx import make_resolver
from mailroom.delivery.outbound import Outbound, relayhost_login
from mailroom.delivery.remote import RemoteDelivery, verified_tls_context
from mailroom.delivery.srs import SrsRewriter
from mailroom.directory import Directory
from mailroom.imap.server import ImapServer
from mailroom.imap.services import ImapServices, ImapSettings
from mailroom.mailauth import DkimKeys, DkimSigner
from mailroom.message import SearchText, search_text
from mailroom.net import ListeningServer, SessionHandler, TlsContexts
from mailroom.pop3.server import Pop3Server, Pop3Services
from mailroom.queue import MailQueue, RetrySchedule
from mailroom.routing import Router
from mailroom.smtp.policy import SmtpServices
from mailroom.smtp.server import SmtpServer
from mailroom.store import Account, MailboxEvents, MailStore, mailbox_path

log = logging.getLogger("mailroom")

DISK_THREADS = 64


class ListenError(Exception):
    """A listener could not be opened (port taken, address not on this machine)."""


@dataclass
class Services:
    config: Config
    directory: Directory
    authenticator: Authenticator
    router: Router
    queue: MailQueue
    local_delivery: LocalDelivery
    tls: TlsContexts | None
    srs: SrsRewriter | None
    mail_store: MailStore


def configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.log.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Alembic narrates every start ("Context impl SQLiteImpl"); only its problems matter.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))


def data_dir(config: Config) -> Path:
    return config.resolve(config.data_dir)


def queue_dir(config: Config) -> Path:
    return data_dir(config) / "queue"


async def open_directory(config: Config) -> Directory:
    base = config.source.parent if config.source else None
    return await Directory.connect(config.directory, base)


def needs_tls(config: Config) -> bool:
    return any(listener.tls is not TlsMode.NONE for listener in config.listeners)


@asynccontextmanager
async def running_services(config: Config, *, migrate: bool) -> AsyncIterator[Services]:
    """Every shared service of `config`, closed on exit."""
    base = config.source.parent if config.source else Path.cwd()
    async with contextlib.AsyncExitStack() as stack:
        directory = await open_directory(config)
        stack.push_async_callback(directory.close)
        if migrate:
            await directory.migrate()
        authenticator = Authenticator(directory, config.auth, MemoryThrottle(config.auth.throttle))
        stack.push_async_callback(authenticator.close)
        router = Router(directory, config.routing, base)
        router.load()
        queue = MailQueue(queue_dir(config), schedule=RetrySchedule.from_config(config.queue))
        await queue.open()
        stack.push_async_callback(queue.close)
        events = MailboxEvents()
        mail_store = MailStore(
            events=events,
            search_text=index_text,
            hierarchy_separator=config.imap.hierarchy_separator,
            hostname=config.hostname,
        )
        stack.push_async_callback(mail_store.close)
        yield Services(
            config=config,
            directory=directory,
            authenticator=authenticator,
            router=router,
            queue=queue,
            local_delivery=LocalDelivery(
                config.mailbox, data_dir(config), config.hostname, events=events
            ),
            tls=TlsContexts(config) if needs_tls(config) else None,
            srs=srs_rewriter(config),
            mail_store=mail_store,
        )


SEARCH_TEXT_LIMIT = 1024 * 1024
"""Characters of a message kept in its folder's index for SEARCH TEXT/BODY (each of
the header and the text parts)."""


def index_text(data: bytes) -> SearchText:
    return search_text(data, limit=SEARCH_TEXT_LIMIT)


def account_opener(services: Services) -> Callable[[str], Awaitable[Account]]:
    """How IMAP and POP3 sessions find the mail account of a logged-in address."""
    config = services.config

    async def open_account(address: str) -> Account:
        record = await services.directory.get_account(address)
        quota = record.quota_bytes
        if quota is None:
            quota = config.mailbox.default_quota
        root = mailbox_path(config.mailbox.path_template, address, data_dir(config))
        account = services.mail_store.account(root, quota)
        await account.ensure_default_folders()
        return account

    return open_account


def imap_services(services: Services) -> ImapServices:
    return ImapServices(
        settings=ImapSettings.from_config(services.config),
        authenticator=services.authenticator,
        tls=services.tls,
        open_account=account_opener(services),
    )


def pop3_services(services: Services) -> Pop3Services:
    return Pop3Services(
        config=services.config,
        authenticator=services.authenticator,
        tls=services.tls,
        open_account=account_opener(services),
    )


SRS_SECRET_FILE = "srs.secret"  # noqa: S105 - a file name, not a secret


def srs_rewriter(config: Config) -> SrsRewriter | None:
    """The SRS rewriter of the config, its secret made at first start (mode 0600)."""
    if not config.delivery.srs:
        return None
    path = data_dir(config) / SRS_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    secret = path.read_text().strip()
    if not secret:
        raise ValueError(f"{path}: the SRS secret is empty; delete the file to make a new one")
    domain = config.delivery.srs_domain or config.hostname
    return SrsRewriter([secret.encode()], domain, clock=time.time)


def outbound_delivery(config: Config, router: Router, srs: SrsRewriter | None) -> Outbound:
    """Delivery to other hosts as the config says (DNS servers, relay host, TLS, DKIM)."""
    settings = config.delivery
    resolver = (
        make_resolver(settings.nameservers, settings.dns_port)
        if settings.nameservers
        else dns.asyncresolver.Resolver()
    )
    ca_file = config.resolve(settings.tls_ca_file) if settings.tls_ca_file else None
    verified = verified_tls_context(ca_file)
    remote = RemoteDelivery(
        resolver,
        port=settings.smtp_port,
        helo_name=config.hostname,
        connect_timeout=settings.connect_timeout_seconds,
        command_timeout=settings.command_timeout_seconds,
        tls_policy=settings.tls.value,
        max_connections_per_destination=settings.max_connections_per_destination,
        verified_tls=verified,
        mta_sts=MtaStsPolicies(
            resolver, data_dir(config) / "mta-sts", verified, port=settings.mta_sts_port
        )
        if settings.mta_sts
        else None,
    )
    signer = None
    if config.dkim.sign:
        signer = DkimSigner(
            DkimKeys(config.resolve(config.dkim.key_directory), config.dkim.selector)
        )
    return Outbound(
        remote,
        router,
        relayhost=settings.relayhost,
        signer=signer,
        srs=srs,
        relayhost_login=relayhost_login(config),
    )


def session_handler(
    services: Services, listener: Listener, delivery: Dispatcher, pop3: Pop3Services
) -> SessionHandler | None:
    """The protocol server for `listener`, or None if this version has none yet. The
    POP3 listeners share `pop3` (and so its maildrop locks)."""
    if listener.protocol in (Protocol.SMTP, Protocol.SUBMISSION):
        smtp = SmtpServices(
            config=services.config,
            authenticator=services.authenticator,
            router=services.router,
            queue=services.queue,
            tls=services.tls,
            delivery=delivery,
            srs=services.srs,
        )
        return SmtpServer(listener, smtp)
    if listener.protocol is Protocol.IMAP:
        return ImapServer(listener, imap_services(services))
    if listener.protocol is Protocol.POP3:
        return Pop3Server(listener, pop3)
    return None


def describe_listener(listener: Listener) -> str:
    protocol, tls = listener.protocol.value, listener.tls.value
    return f"{listener.name}: {protocol} on {listener.address} (tls {tls})"


@dataclass
class RunningHost:
    """What `serve` started, for whoever asked to be told (tests, mostly)."""

    services: Services
    servers: list[ListeningServer]
    dispatcher: Dispatcher

    def port(self, name: str) -> int:
        """The port the listener called `name` is bound to."""
        return next(s.port for s in self.servers if s.listener.name == name)


async def serve(
    config: Config,
    announce: Callable[[str], None],
    *,
    started: Callable[[RunningHost], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Start every listener whose protocol exists in this version and the delivery of
    queued mail; run until SIGINT/SIGTERM (or `stop` is set). SIGHUP re-reads
    certificates and map files."""
    # Disk work (Maildir writes and their fsyncs) runs in threads; asyncio's default
    # pool has only cores+4, and waiting fsyncs should overlap so the filesystem's
    # journal can commit many at once.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=DISK_THREADS, thread_name_prefix="mailroom-disk")
    )
    async with running_services(config, migrate=True) as services:
        servers: list[ListeningServer] = []
        bouncer = Bouncer(
            services.queue,
            config.hostname,
            router=services.router,
            delay_warning=config.delivery.delay_warning_hours * 3600 or None,
        )
        delivery = Dispatcher(
            services.queue,
            services.router,
            services.local_delivery,
            outbound=outbound_delivery(config, services.router, services.srs),
            bouncer=bouncer,
        )
        dispatcher = asyncio.create_task(delivery.run())
        # `mailroom queue flush|hold|release|delete|bounce` ask this server over it.
        control = ControlServer(
            data_dir(config) / CONTROL_SOCKET,
            QueueAdministration(services.queue, bouncer).handle,
        )
        await control.start()
        try:
            pop3 = pop3_services(services)
            for listener in config.listeners:
                handler = session_handler(services, listener, delivery, pop3)
                if handler is None:
                    announce(
                        f"not yet available in this version, skipped: {describe_listener(listener)}"
                    )
                    continue
                server = ListeningServer(listener, handler, services.tls)
                try:
                    await server.start()
                except OSError as error:
                    raise ListenError(
                        f"listener {listener.name}: cannot listen on "
                        f"{listener.address}: {error.strerror or error}"
                    ) from None
                servers.append(server)
                announce(f"listening: {describe_listener(listener)}")
            if started is not None:
                await started(RunningHost(services, servers, delivery))
            announce("running; stop with Ctrl-C or SIGTERM, reload with SIGHUP")
            if stop is not None:
                await stop.wait()
            else:
                await _until_stopped(lambda: reload(services))
        finally:
            await control.close()
            for server in reversed(servers):
                await server.stop()
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
    announce("stopped")


def reload(services: Services) -> None:
    """SIGHUP: new certificates and map files; a bad file keeps the last good one."""
    log.info("SIGHUP: reloading certificates and map files")
    if services.tls is not None:
        services.tls.reload()
    services.router.reload()


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
