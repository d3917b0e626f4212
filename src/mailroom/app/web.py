"""The web listeners: the web application (mailroom.web) given the host's services, one
`WebServer` per `web` listener of the config."""

from __future__ import annotations

import asyncio
import functools

from mailroom.app.dns_records import HostDnsPublication
from mailroom.app.inbound_authentication import host_resolver
from mailroom.app.member_scripts import member_scripts
from mailroom.app.routing_map_files import routing_map_files
from mailroom.app.services import Services, external_login
from mailroom.app.standalone import dkim_keys
from mailroom.auth import BanAdministration, MemoryThrottle
from mailroom.auth.redis_throttle import RedisThrottle
from mailroom.config import Listener, TlsMode
from mailroom.control.administration import QueueAdministration
from mailroom.directory.passwords import PasswordHasher
from mailroom.web.app import build_app
from mailroom.web.certificate_login import admission as certificate_admission
from mailroom.web.context import WebServices
from mailroom.web.server import WebServer


def web_services(
    services: Services, queue_administration: QueueAdministration | None = None
) -> WebServices:
    """What the web gets of `services`; `queue_administration`: the control channel's
    handler (the host's, so the web and `mailroom queue` change the queue alike)."""
    config = services.config
    return WebServices(
        settings=config.web,
        hostname=config.hostname,
        directory=services.directory,
        authenticator=services.authenticator,
        listeners=tuple(config.listeners),
        open_scripts=member_scripts(services),
        external=external_login(services),
        throttle=services.throttle,
        hash_password=functools.partial(_hash_password, PasswordHasher(config.auth.passwords)),
        routing_map_files=routing_map_files(config),
        queue=services.queue,
        queue_administration=queue_administration,
        bans=ban_administration(services),
        dns=HostDnsPublication(
            config, dkim_keys(config), services.resolver or host_resolver(config)
        ),
    )


def ban_administration(services: Services) -> BanAdministration | None:
    """The throttle's bans, if this process's throttle keeps them (the main process's
    does; a worker's asks the main process and has none to show)."""
    throttle = services.throttle
    return throttle if isinstance(throttle, MemoryThrottle | RedisThrottle) else None


async def _hash_password(hasher: PasswordHasher, password: str) -> str:
    return await asyncio.to_thread(hasher.hash, password)


def web_server(services: Services, web: WebServices, listener: Listener) -> WebServer:
    tls = None
    if listener.tls is not TlsMode.NONE:
        assert services.tls is not None
        tls = services.tls.for_listener(listener.name)
    return WebServer(
        listener, build_app(web, listener), tls, admission=certificate_admission(web, listener)
    )
