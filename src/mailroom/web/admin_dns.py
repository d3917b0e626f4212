"""/admin/dns: each local domain's DKIM key and the DNS records it needs (exactly what
`mailroom dns records DOMAIN` prints, made by the same function), and a check of what
DNS holds for each, asked through the host's resolver.

A domain without a key gets one made here as `mailroom dkim keygen` makes it (audited);
an existing key is never replaced from the web, since every signature fails until DNS
follows a new key (rotation stays a deliberate `mailroom dkim keygen --force`). The
records are published by whoever runs the zone. The check is a GET (it changes nothing)
and asks DNS only when the button is pressed, so opening the page never waits for a
slow name server.
"""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.config import DkimAlgorithm
from mailroom.directory import DirectoryError, InvalidAddress, normalize_domain
from mailroom.web.access import admin
from mailroom.web.admin_queue import age_text
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.dns_publication import DnsPublication, RecordCheck, ZoneLine
from mailroom.web.pages import flash, page, see_other

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

    async def local_domain(request: Request) -> str:
        try:
            name = normalize_domain(request.path_params["domain"])
        except InvalidAddress:
            raise HTTPException(404, "no such local domain") from None
        if name not in await local_domains():
            raise HTTPException(404, f"{name} is not a local domain")
        return name

    async def domain_page(request: Request) -> Response:
        admin(request)
        name = await local_domain(request)
        dns = dns_of()
        found = await dns.records(name)
        checked = "check" in request.query_params
        made = found.dkim_created
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
            algorithms=[algorithm.value for algorithm in DkimAlgorithm],
            key_age=None if made is None else age_text(time.time() - made),
        )

    async def make_key(request: Request) -> Response:
        admin(request)
        name = await local_domain(request)
        form = await request.form()
        try:
            algorithm = DkimAlgorithm(str(form.get("algorithm", "")))
        except ValueError:
            raise HTTPException(400, "algorithm must be rsa or ed25519") from None
        problem = await dns_of().make_dkim_key(name, algorithm)
        if problem is not None:
            flash(request, f"No key made: {problem}")
        else:
            found = await dns_of().records(name)
            detail = f"{algorithm.value}, selector {found.dkim_selector}"
            await audit(request, services.directory, "dkim.keygen", name, detail)
            flash(request, f"A DKIM key for {name} is made ({detail}): publish its record.")
        return see_other(f"/admin/dns/{name}")

    return [
        Route("/admin/dns", overview),
        Route("/admin/dns/{domain}", domain_page),
        Route("/admin/dns/{domain}/dkim", make_key, methods=["POST"]),
    ]
