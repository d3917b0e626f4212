"""The web listeners: the web application (mailroom.web) given the host's services, one
`WebServer` per `web` listener of the config."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from mailroom.app.dns_records import HostDnsPublication
from mailroom.app.host_files import data_dir
from mailroom.app.inbound_authentication import host_resolver
from mailroom.app.member_scripts import member_scripts
from mailroom.app.monitoring import HostMonitoring
from mailroom.app.routing_map_files import routing_map_files
from mailroom.app.services import Services, external_login
from mailroom.app.standalone import dkim_keys
from mailroom.auth import BanAdministration
from mailroom.config import Config, Listener, TlsMode
from mailroom.control.administration import QueueAdministration
from mailroom.directory.passwords import PasswordHasher
from mailroom.mailauth import DkimKeys
from mailroom.mailauth.dkim import DkimError
from mailroom.web.app import build_app
from mailroom.web.certificate_login import admission as certificate_admission
from mailroom.web.context import WebServices
from mailroom.web.dashboard_sources import DkimKeyAge
from mailroom.web.server import WebServer
from mailroom.web.sessions import SessionStore


def web_services(
    services: Services,
    queue_administration: QueueAdministration | None = None,
    monitoring: HostMonitoring | None = None,
) -> WebServices:
    """What the web gets of `services`; `queue_administration`: the control channel's
    handler (the host's, so the web and `mailroom queue` change the queue alike);
    `monitoring`: the host's metrics and hourly history."""
    config = services.config
    return WebServices(
        settings=config.web,
        hostname=config.hostname,
        directory=services.directory,
        authenticator=services.authenticator,
        listeners=tuple(config.listeners),
        hash_password=functools.partial(_hash_password, PasswordHasher(config.auth.passwords)),
        routing_map_files=routing_map_files(config),
        queue=services.queue,
        certificate_files=certificate_files(config),
        dkim_key_ages=dkim_key_ages(services),
        disk_paths=disk_paths(config),
        metrics=monitoring,
        history=monitoring.history if monitoring is not None else None,
        queue_administration=queue_administration,
        bans=ban_administration(services),
        dns=HostDnsPublication(
            config, dkim_keys(config), services.resolver or host_resolver(config)
        ),
        external=external_login(services),
        sessions=SessionStore(config.web),
        throttle=services.throttle,
        open_scripts=member_scripts(services),
    )


def ban_administration(services: Services) -> BanAdministration | None:
    """The throttle's bans, if this process's throttle keeps them (the main process's
    does; a worker's asks the main process and has none to show)."""
    throttle = services.throttle
    return throttle if isinstance(throttle, BanAdministration) else None


async def _hash_password(hasher: PasswordHasher, password: str) -> str:
    return await asyncio.to_thread(hasher.hash, password)


def certificate_files(config: Config) -> tuple[tuple[str, Path], ...]:
    """Each certificate file a TLS listener uses, with the listeners using it."""
    users: dict[Path, list[str]] = {}
    for listener in config.listeners:
        if listener.tls is TlsMode.NONE:
            continue
        path = config.resolve(listener.certificate or config.tls.certificate)
        users.setdefault(path, []).append(listener.name)
    return tuple((", ".join(names), path) for path, names in users.items())


def disk_paths(config: Config) -> tuple[tuple[str, Path], ...]:
    """The data directory (queue, directory database) and where the mailboxes are (the
    mailbox template up to its first `%`)."""
    data = data_dir(config)
    fixed = config.mailbox.path_template.split("%", 1)[0]
    return (("data and queue", data), ("mailboxes", data / fixed if fixed else data))


def dkim_key_ages(services: Services) -> Callable[[], Awaitable[list[DkimKeyAge]]]:
    config = services.config
    keys = dkim_keys(config)

    async def ages() -> list[DkimKeyAge]:
        domains = [domain.name for domain in await services.directory.list_domains()]
        return await asyncio.to_thread(_key_ages, keys, domains)

    return ages


def _key_ages(keys: DkimKeys, domains: list[str]) -> list[DkimKeyAge]:
    found = []
    for domain in domains:
        try:
            key = keys.load(domain)
            if key is None:
                continue
            written = keys.path(domain).stat().st_mtime
        except (DkimError, OSError):
            continue
        created = datetime.fromtimestamp(written, UTC)
        found.append(DkimKeyAge(domain, keys.selector, str(key.algorithm), created))
    return found


def web_server(services: Services, web: WebServices, listener: Listener) -> WebServer:
    tls = None
    if listener.tls is not TlsMode.NONE:
        assert services.tls is not None
        tls = services.tls.for_listener(listener.name)
    return WebServer(
        listener, build_app(web, listener), tls, admission=certificate_admission(web, listener)
    )
