"""The services of one host, each built from the config by one small function here.

`host.py` puts them together into the running host, `protocols.py` looks up the
protocol servers by name, `standalone.py` builds single services for the `mailroom`
commands. Only the app package wires packages together; protocols and stores never
construct each other.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from mailroom.app.host_files import (
    SRS_SECRET_FILE,
    HostFileError,
    data_dir,
    open_directory,
    queue_dir,
)
from mailroom.app.inbound_authentication import host_resolver, inbound_check
from mailroom.auth import Authenticator, MemoryThrottle, Throttle
from mailroom.auth.ban_store import BanFile
from mailroom.auth.certificate_login import CertificateLogin
from mailroom.config import Config, TlsMode
from mailroom.delivery.dispatcher import Dispatcher
from mailroom.delivery.local import DeliveryFilter, LocalDelivery
from mailroom.delivery.mta_sts_cache import MtaStsPolicies
from mailroom.delivery.outbound import Outbound, relayhost_login
from mailroom.delivery.remote import RemoteDelivery, verified_tls_context
from mailroom.delivery.sieve_delivery import SieveDelivery, SieveSettings
from mailroom.delivery.sieve_engine import SieveInterpreter
from mailroom.delivery.sieve_sending import SieveMail
from mailroom.delivery.srs import SrsRewriter
from mailroom.directory import Directory, NotFound
from mailroom.dns import Resolver
from mailroom.durable import fsync_directory, make_directory
from mailroom.imap.services import ImapServices, ImapSettings
from mailroom.mailauth import DkimKeys, DkimSigner
from mailroom.mailauth.arc import ArcSealer
from mailroom.mailauth.dnsbl import DnsblChecker
from mailroom.message import SearchText, search_text
from mailroom.net import ExternalLogin, TlsContexts
from mailroom.pop3.server import Pop3Services, Pop3Settings
from mailroom.queue import MailQueue, RetrySchedule
from mailroom.routing import Router
from mailroom.smtp.policy import SmtpServices
from mailroom.smtp.settings import SmtpSettings
from mailroom.store import Account, MailboxEvents, MailStore, locate_mailbox


@dataclass
class Services:
    """What the host's protocol servers and delivery share."""

    config: Config
    directory: Directory
    authenticator: Authenticator
    router: Router
    queue: MailQueue
    local_delivery: LocalDelivery
    tls: TlsContexts | None
    srs: SrsRewriter | None
    mail_store: MailStore
    throttle: Throttle
    """The host's login throttle (a worker's asks the main process's)."""
    events: MailboxEvents
    """Folder change events: IDLE wake-ups (shared with workers by the event hub)."""
    resolver: Resolver | None = None
    """The host's one DNS resolver (mailroom.dns), its cache shared by every check."""


def needs_tls(config: Config) -> bool:
    return any(listener.tls is not TlsMode.NONE for listener in config.listeners)


async def open_services(
    config: Config,
    stack: contextlib.AsyncExitStack,
    *,
    make_secrets: bool = True,
    throttle: Throttle | None = None,
    tls: TlsContexts | None = None,
) -> Services:
    """Every shared service of `config`, built (nothing started, no lock taken); each
    is closed by `stack`. `make_secrets=False` writes no file (`mailroom config check`,
    workers). `throttle`: the login throttle (default: this process's own). `tls`: the
    certificates if already loaded (as root, before the server became its service user)."""
    directory = await open_directory(config)
    stack.push_async_callback(directory.close)
    if throttle is None:
        throttle = login_throttle(config)
        stack.push_async_callback(throttle.close)
    authenticator = Authenticator(directory, config.auth, throttle)
    stack.push_async_callback(authenticator.close)
    router = router_for(config, directory)
    queue = MailQueue(queue_dir(config), schedule=RetrySchedule.from_config(config.queue))
    stack.push_async_callback(queue.close)
    events = MailboxEvents()
    srs = srs_rewriter(config, make_secret=make_secrets)
    mail_store = MailStore(
        events=events,
        search_text=index_text,
        hierarchy_separator=config.imap.hierarchy_separator,
        special_use=config.mailbox.special_use.attributes(),
        hostname=config.hostname,
    )
    stack.push_async_callback(mail_store.close)
    return Services(
        config=config,
        directory=directory,
        authenticator=authenticator,
        router=router,
        queue=queue,
        local_delivery=local_delivery(
            config, events, sieve_delivery(config, events, queue, router, srs)
        ),
        tls=tls if tls is not None else (TlsContexts(config) if needs_tls(config) else None),
        srs=srs,
        mail_store=mail_store,
        throttle=throttle,
        events=events,
        resolver=host_resolver(config),
    )


def login_throttle(config: Config) -> Throttle:
    """The host's login throttle: in Redis when `[auth.throttle] redis_url` is set (shared
    by every process and node using it), else in this process with its bans in a file in
    data_dir (kept across restarts)."""
    settings = config.auth.throttle
    if settings.redis_url:
        # Imported only here: redis-py costs every process that does not use it
        # ~0.1-0.2 s of CPU at start (the suite starts hundreds).
        from mailroom.auth.redis_throttle import RedisThrottle

        return RedisThrottle(settings)
    return MemoryThrottle(settings, ban_file=BanFile(data_dir(config)))


def router_for(config: Config, directory: Directory) -> Router:
    """The router of `config`, its map files read (MapFileError at the first bad one)."""
    base = config.source.parent if config.source else Path.cwd()
    router = Router(directory, config.routing, base, hostname=config.hostname)
    router.load()
    return router


def local_delivery(
    config: Config, events: MailboxEvents, sieve: DeliveryFilter | None = None
) -> LocalDelivery:
    """Delivery into this host's Maildirs, through the accounts' Sieve scripts if `sieve`;
    IMAP sessions in IDLE hear of it through `events`."""
    return LocalDelivery(
        config.mailbox, data_dir(config), config.hostname, events=events, filter=sieve
    )


def sieve_delivery(
    config: Config,
    events: MailboxEvents,
    queue: MailQueue,
    router: Router,
    srs: SrsRewriter | None,
) -> DeliveryFilter | None:
    """Members' and global Sieve scripts at local delivery (None when `[sieve]` is off):
    redirects and vacation replies leave through `queue`, redirects with an SRS sender."""
    sieve = config.sieve
    if not sieve.enabled:
        return None
    settings = SieveSettings(
        sieve=sieve,
        mailbox=config.mailbox,
        data_dir=data_dir(config),
        hostname=config.hostname,
        separator=config.imap.hierarchy_separator,
        before=tuple(config.resolve(path) for path in sieve.before),
        after=tuple(config.resolve(path) for path in sieve.after),
        global_directory=(
            config.resolve(sieve.global_directory) if sieve.global_directory else None
        ),
        subaddress_delimiters=config.routing.recipient_delimiter,
    )
    mail = SieveMail(queue, hostname=config.hostname, router=router, srs=srs)
    return SieveDelivery(SieveInterpreter(sieve), settings, mail, events=events)


SEARCH_TEXT_LIMIT = 1024 * 1024
"""Characters of a message kept in its folder's index for SEARCH TEXT/BODY (each of
the header and the text parts)."""


def index_text(data: bytes) -> SearchText:
    return search_text(data, limit=SEARCH_TEXT_LIMIT)


def account_opener(services: Services) -> Callable[[str], Awaitable[Account]]:
    """How IMAP and POP3 sessions find the mail account of a logged-in address. Its record
    (for the quota) comes from the authenticator, which has just read it for the login
    and keeps it while the directory is unchanged: a cached login reads no SQL."""
    config = services.config

    async def open_account(address: str) -> Account:
        record = await services.authenticator.account(address)
        if record is None or record.address != address:  # changed since the login
            raise NotFound(f"no account {address}")
        where = locate_mailbox(config.mailbox, data_dir(config), address, record.quota_bytes)
        account = services.mail_store.account(where.root, where.quota_bytes)
        await account.ensure_default_folders()
        return account

    return open_account


def external_login(services: Services) -> ExternalLogin:
    """SASL EXTERNAL: the listeners' client certificates, mapped to accounts through the
    authenticator's records, failures counted by the same throttle as passwords."""
    config = services.config
    login = CertificateLogin(
        services.authenticator,
        config.client_certificates.sources,
        throttle=services.throttle,
        default_domain=config.auth.default_domain,
    )
    return ExternalLogin(services.tls.client_certificates if services.tls else None, login)


def imap_services(services: Services) -> ImapServices:
    return ImapServices(
        settings=ImapSettings.from_config(services.config),
        authenticator=services.authenticator,
        tls=services.tls,
        open_account=account_opener(services),
        external=external_login(services),
    )


def pop3_services(services: Services) -> Pop3Services:
    return Pop3Services(
        settings=Pop3Settings(
            authenticated_timeout_seconds=services.config.pop3.authenticated_timeout_seconds
        ),
        authenticator=services.authenticator,
        tls=services.tls,
        open_account=account_opener(services),
        external=external_login(services),
    )


def smtp_services(services: Services, delivery: Dispatcher) -> SmtpServices:
    # One resolver for both checks (and the host's, when it has one): one cache.
    resolver = services.resolver or host_resolver(services.config)
    return SmtpServices(
        settings=SmtpSettings.from_config(services.config),
        authenticator=services.authenticator,
        router=services.router,
        queue=services.queue,
        tls=services.tls,
        delivery=delivery,
        srs=services.srs,
        inbound_check=inbound_check(services.config, resolver),
        client_check=dnsbl_checker(services.config, resolver),
        external=external_login(services),
    )


def dnsbl_checker(config: Config, resolver: Resolver) -> DnsblChecker | None:
    """The DNSBL check of smtp clients at connect (None when `[dnsbl] sites` is empty)."""
    settings = config.dnsbl
    if not settings.sites:
        return None
    return DnsblChecker(
        resolver,
        settings.parsed_sites,
        threshold=settings.threshold,
        timeout=settings.timeout_seconds,
    )


def srs_rewriter(config: Config, *, make_secret: bool = True) -> SrsRewriter | None:
    """The SRS rewriter of the config, its secret made at first start (mode 0600). With
    `make_secret=False` a missing secret is not written: a throwaway one stands in."""
    if not config.delivery.srs:
        return None
    domain = config.delivery.srs_domain or config.hostname
    path = data_dir(config) / SRS_SECRET_FILE
    if not path.exists() and not make_secret:
        return SrsRewriter([secrets.token_hex(32).encode()], domain, clock=time.time)
    if not path.exists():
        # Durably, data_dir too (made here at a first start): the queue and the Maildirs
        # are fsynced into it, and a secret lost or left empty by a power cut would
        # stop the server and orphan the SRS addresses already sent.
        make_directory(path.parent)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        fsync_directory(path.parent)
    secret = path.read_text().strip()
    if not secret:
        raise HostFileError(f"{path}: the SRS secret is empty; delete the file to make a new one")
    return SrsRewriter([secret.encode()], domain, clock=time.time)


def outbound_delivery(
    config: Config, router: Router, srs: SrsRewriter | None, resolver: Resolver | None = None
) -> Outbound:
    """Delivery to other hosts as the config says (DNS servers, relay host, TLS, DKIM),
    asking DNS through `resolver` (the host's; default: a new one for the config)."""
    settings = config.delivery
    resolver = resolver or host_resolver(config)
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
    sealer = None
    if config.dkim.arc_seal:
        sealer = ArcSealer(
            DkimKeys(config.resolve(config.dkim.key_directory), config.dkim.selector),
            authserv_id=config.hostname,
        )
    return Outbound(
        remote,
        router,
        relayhost=settings.relayhost,
        signer=signer,
        srs=srs,
        relayhost_login=relayhost_login(config),
        sealer=sealer,
    )
