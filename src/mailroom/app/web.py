"""The web listeners: the web application (mailroom.web) given the host's services, one
`WebServer` per `web` listener of the config."""

from __future__ import annotations

from mailroom.app.services import Services
from mailroom.config import Listener, TlsMode
from mailroom.web.app import build_app
from mailroom.web.context import WebServices
from mailroom.web.server import WebServer


def web_services(services: Services) -> WebServices:
    config = services.config
    return WebServices(
        settings=config.web,
        hostname=config.hostname,
        directory=services.directory,
        authenticator=services.authenticator,
        listeners=tuple(config.listeners),
    )


def web_server(services: Services, web: WebServices, listener: Listener) -> WebServer:
    tls = None
    if listener.tls is not TlsMode.NONE:
        assert services.tls is not None
        tls = services.tls.for_listener(listener.name)
    return WebServer(listener, build_app(web, listener), tls)
