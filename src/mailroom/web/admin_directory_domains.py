"""The admin's pages for local domains (`/admin/domains`) and transports
(`/admin/transports`): list, add, remove; set a domain's next hop. As `mailroom domain`
and `mailroom transport`."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import DirectoryError
from mailroom.web.access import admin
from mailroom.web.admin_directory_forms import (
    Refused,
    form_fields,
    shows_refusals,
    status_of,
)
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

DOMAINS = "/admin/domains"
TRANSPORTS = "/admin/transports"


def routes(services: WebServices) -> list[BaseRoute]:
    directory = services.directory

    async def show_domains(
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        accounts = Counter(a.address.rsplit("@", 1)[1] for a in await directory.list_accounts())
        aliases = Counter(a.address.rsplit("@", 1)[1] for a in await directory.list_aliases())
        return page(
            request,
            "admin_dir/domains.html",
            status=status,
            error=error,
            form=form or {},
            domains=await directory.list_domains(),
            accounts=accounts,
            aliases=aliases,
        )

    @shows_refusals
    async def domains_page(request: Request) -> Response:
        admin(request)
        return await show_domains(request)

    @shows_refusals
    async def change_domains(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        action = fields.get("action", "")
        try:
            if action == "add":
                domain = await directory.add_domain(fields.get("domain", ""))
                await audit(request, directory, "domain.add", domain.name)
                flash(request, f"added domain {domain.name}")
            elif action == "remove":
                name = fields.get("domain", "")
                await directory.remove_domain(name)
                await audit(request, directory, "domain.remove", name)
                flash(request, f"removed domain {name}")
            else:
                raise Refused(f"unknown action {action!r}")
        except (DirectoryError, Refused) as error:
            return await show_domains(request, status_of(error), str(error), fields)
        return see_other(DOMAINS)

    async def show_transports(
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        return page(
            request,
            "admin_dir/transports.html",
            status=status,
            error=error,
            form=form or {},
            transports=await directory.list_transports(),
        )

    @shows_refusals
    async def transports_page(request: Request) -> Response:
        admin(request)
        return await show_transports(request)

    @shows_refusals
    async def change_transports(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        action = fields.get("action", "")
        try:
            if action == "set":
                transport = await directory.set_transport(
                    fields.get("domain", ""), fields.get("nexthop", "")
                )
                await audit(
                    request, directory, "transport.set", transport.domain, transport.nexthop
                )
                flash(request, f"{transport.domain} -> {transport.nexthop}")
            elif action == "remove":
                name = fields.get("domain", "")
                await directory.remove_transport(name)
                await audit(request, directory, "transport.remove", name)
                flash(request, f"removed transport of {name}")
            else:
                raise Refused(f"unknown action {action!r}")
        except (DirectoryError, Refused) as error:
            return await show_transports(request, status_of(error), str(error), fields)
        return see_other(TRANSPORTS)

    return [
        Route(DOMAINS, domains_page, methods=["GET"]),
        Route(DOMAINS, change_domains, methods=["POST"]),
        Route(TRANSPORTS, transports_page, methods=["GET"]),
        Route(TRANSPORTS, change_transports, methods=["POST"]),
    ]
