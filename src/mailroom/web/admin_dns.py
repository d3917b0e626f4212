"""/admin/dns: each local domain's DKIM key and the DNS records it needs (exactly what
`mailroom dns records DOMAIN` prints, made by the same function), and a check of what
DNS holds for each, asked through the host's resolver.

The page only shows: keys are made with `mailroom dkim keygen`, records published by
whoever runs the zone. The check is a GET (it changes nothing) and asks DNS only when
the button is pressed, so opening the page never waits for a slow name server.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import DirectoryError, InvalidAddress, normalize_domain
from mailroom.web.access import admin
from mailroom.web.context import WebServices
from mailroom.web.dns_publication import DnsPublication, RecordCheck, ZoneLine
from mailroom.web.pages import page

STATE_TEXT = {
    "published": "published",
    "missing": "missing",
    "different": "different",
    "unknown": "no answer",
}


def routes(services: WebServices) -> list[BaseRoute]:
    def dns_of() -> DnsPublication:
        if services.dns is None:
            raise HTTPException(503, "this web listener cannot show DNS records")
        return services.dns

    async def local_domains() -> list[str]:
        try:
            return [domain.name for domain in await services.directory.list_domains()]
        except DirectoryError as error:
            raise HTTPException(503, f"the directory cannot be read: {error}") from None

    async def overview(request: Request) -> Response:
        admin(request)
        dns = dns_of()
        domains = [await dns.records(name) for name in await local_domains()]
        return page(request, "admin_dns.html", domains=domains)

    async def domain_page(request: Request) -> Response:
        admin(request)
        try:
            name = normalize_domain(request.path_params["domain"])
        except InvalidAddress:
            raise HTTPException(404, "no such local domain") from None
        if name not in await local_domains():
            raise HTTPException(404, f"{name} is not a local domain")
        dns = dns_of()
        found = await dns.records(name)
        checked = "check" in request.query_params
        rows: list[tuple[ZoneLine, RecordCheck | None]]
        if checked:
            rows = [(check.record, check) for check in await dns.check(name)]
        else:
            rows = [(record, None) for record in found.records]
        return page(
            request,
            "admin_dns_domain.html",
            found=found,
            checked=checked,
            rows=rows,
            state_text=STATE_TEXT,
        )

    return [
        Route("/admin/dns", overview),
        Route("/admin/dns/{domain}", domain_page),
    ]
