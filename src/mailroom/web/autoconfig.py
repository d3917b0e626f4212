"""The pages mail clients fetch to set themselves up, all derived from the listeners
configured (autoconfig_servers.py):

- Thunderbird (and Evolution, KMail, K-9): `GET /.well-known/autoconfig/mail/
  config-v1.1.xml?emailaddress=...` on the domain, or `GET /mail/config-v1.1.xml` on
  `autoconfig.DOMAIN`;
- Outlook: `POST /autodiscover/autodiscover.xml` (any case: Outlook writes it
  `/Autodiscover/Autodiscover.xml`) on the domain or `autodiscover.DOMAIN`;
- Apple Mail: `GET /mail.mobileconfig?emailaddress=...`, a profile to download.

They take no session and change nothing: exempt from the CSRF gate (app.py), so no
session is made for each anonymous fetch. A domain this host does not serve gets 404
(Autodiscover: its error 500), so the pages say nothing about other domains."""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import DirectoryError, normalize_address, normalize_domain
from mailroom.directory.errors import InvalidAddress
from mailroom.web.autoconfig_apple import NoServers, mobileconfig
from mailroom.web.autoconfig_autodiscover import (
    MAX_REQUEST_BYTES,
    OUTLOOK_NS,
    BadRequest,
    error_response,
    parse_request,
    settings_response,
)
from mailroom.web.autoconfig_autodiscover import MEDIA_TYPE as AUTODISCOVER_TYPE
from mailroom.web.autoconfig_servers import client_servers
from mailroom.web.autoconfig_thunderbird import MEDIA_TYPE as THUNDERBIRD_TYPE
from mailroom.web.autoconfig_thunderbird import thunderbird_config
from mailroom.web.context import WebServices

log = logging.getLogger("mailroom.web")

THUNDERBIRD_PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml")
AUTODISCOVER_PATH = "/autodiscover/autodiscover.xml"
MOBILECONFIG_PATH = "/mail.mobileconfig"
PATHS = (*THUNDERBIRD_PATHS, AUTODISCOVER_PATH, MOBILECONFIG_PATH)
"""For the gate's exemption (app.py EXEMPT_FROM_GUARD; it compares lower case)."""

SUBDOMAINS = ("autoconfig.", "autodiscover.")


def _not_ours() -> Response:
    return PlainTextResponse("no mail settings for this domain here", 404)


def _requested_domain(request: Request, address: str | None) -> str | None:
    """The domain asked about: the address's, else the host name the client used
    (`autoconfig.example.org` -> `example.org`)."""
    if address is not None:
        return address.rpartition("@")[2]
    host = request.headers.get("host", "").rsplit(":", 1)[0]
    for prefix in SUBDOMAINS:
        if host.lower().startswith(prefix):
            host = host[len(prefix) :]
    try:
        return normalize_domain(host)
    except InvalidAddress:
        return None


def _address(request: Request) -> str | None:
    """The `emailaddress` parameter, normalised; None if absent or not an address."""
    given = request.query_params.get("emailaddress")
    if given is None or len(given) > 320:
        return None
    try:
        return normalize_address(given)
    except InvalidAddress:
        return None


def routes(services: WebServices) -> list[BaseRoute]:
    servers = client_servers(services.hostname, services.listeners)

    async def ours(domain: str | None) -> bool:
        return domain is not None and await services.directory.is_local_domain(domain)

    async def thunderbird(request: Request) -> Response:
        address = _address(request)
        if request.query_params.get("emailaddress") is not None and address is None:
            return PlainTextResponse("emailaddress is not an address", 400)
        domain = _requested_domain(request, address)
        try:
            if domain is None or not await ours(domain):
                return _not_ours()
        except DirectoryError:
            return PlainTextResponse("the directory cannot be reached; try again later", 503)
        if not any(server.incoming for server in servers) or all(
            server.incoming for server in servers
        ):
            # The format needs both an incoming and an outgoing server.
            return PlainTextResponse("this host has no TLS listener for mail clients", 404)
        return Response(thunderbird_config(domain, servers), media_type=THUNDERBIRD_TYPE)

    async def autodiscover(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return PlainTextResponse("request too large", 413)
        try:
            asked = parse_request(bytes(body))
        except BadRequest as error:
            log.info("autodiscover: refused a request from %s: %s", _client(request), error)
            return _xml(error_response(600, "Invalid Request"))
        if asked.response_schema != OUTLOOK_NS:
            return _xml(error_response(601, "Provider is not available"))
        try:
            address = normalize_address(asked.email_address)
        except InvalidAddress:
            return _xml(error_response(600, "Invalid Request"))
        try:
            known = await ours(address.rpartition("@")[2])
        except DirectoryError:
            return PlainTextResponse("the directory cannot be reached; try again later", 503)
        if not known or not servers:
            return _xml(error_response(500, "The e-mail address cannot be found."))
        return _xml(settings_response(address, servers))

    async def apple(request: Request) -> Response:
        address = _address(request)
        if address is None:
            return PlainTextResponse("add ?emailaddress=you@your.domain", 400)
        try:
            if not await ours(address.rpartition("@")[2]):
                return _not_ours()
        except DirectoryError:
            return PlainTextResponse("the directory cannot be reached; try again later", 503)
        try:
            profile = mobileconfig(services.hostname, address, servers)
        except NoServers as error:
            return PlainTextResponse(str(error), 404)
        return Response(
            profile,
            media_type="application/x-apple-aspen-config",
            headers={"content-disposition": 'attachment; filename="mail.mobileconfig"'},
        )

    any_case = Route(AUTODISCOVER_PATH, autodiscover, methods=["POST"])
    any_case.path_regex = re.compile(re.escape(AUTODISCOVER_PATH) + "$", re.IGNORECASE)
    return [
        *(Route(path, thunderbird, methods=["GET"]) for path in THUNDERBIRD_PATHS),
        any_case,
        Route(MOBILECONFIG_PATH, apple, methods=["GET"]),
    ]


def _xml(document: bytes) -> Response:
    return Response(document, media_type=AUTODISCOVER_TYPE)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
