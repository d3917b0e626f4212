"""The admin's pages for aliases (`/admin/aliases`, one alias at
`/admin/aliases/<address>`): add one with its targets and the accounts that may send as
it, grant and revoke send-as, remove it. As `mailroom alias`: the directory refuses an
unknown local target, a loop, a grant to what is not an account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import Alias, DirectoryError
from mailroom.web.access import admin
from mailroom.web.admin_directory_forms import (
    Refused,
    address_list,
    address_url,
    form_fields,
    shows_refusals,
    status_of,
)
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

ALIASES = "/admin/aliases"


def describe(alias: Alias) -> str:
    """The audit detail of an alias, as `mailroom alias add` prints it."""
    grants = f"; send-as: {', '.join(alias.send_as)}" if alias.send_as else ""
    return f"targets: {', '.join(alias.targets)}{grants}"


def routes(services: WebServices) -> list[BaseRoute]:
    directory = services.directory

    async def show_list(
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        domain = request.query_params.get("domain") or None
        return page(
            request,
            "admin_dir/aliases.html",
            status=status,
            error=error,
            form=form or {},
            domain=domain,
            domains=await directory.list_domains(),
            aliases=await directory.list_aliases(domain),
            accounts=[account.address for account in await directory.list_accounts()],
            address_url=address_url,
        )

    @shows_refusals
    async def aliases_page(request: Request) -> Response:
        admin(request)
        return await show_list(request)

    @shows_refusals
    async def add_alias(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        try:
            if fields.get("action") != "add":
                raise Refused(f"unknown action {fields.get('action', '')!r}")
            alias = await directory.add_alias(
                fields.get("address", ""),
                address_list(fields.get("targets", "")),
                send_as=address_list(fields.get("send_as", "")),
            )
        except (DirectoryError, Refused) as error:
            return await show_list(request, status_of(error), str(error), fields)
        await audit(request, directory, "alias.add", alias.address, describe(alias))
        flash(request, f"added alias {alias.address}")
        return see_other(address_url(ALIASES, alias.address))

    async def show_alias(
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        alias = await directory.get_alias(request.path_params["address"])
        accounts = [account.address for account in await directory.list_accounts()]
        return page(
            request,
            "admin_dir/alias.html",
            status=status,
            error=error,
            form=form or {},
            item=alias,
            grantable=[account for account in accounts if account not in alias.send_as],
            address_url=address_url,
        )

    @shows_refusals
    async def alias_page(request: Request) -> Response:
        admin(request)
        return await show_alias(request)

    @shows_refusals
    async def change_alias(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        target = request.path_params["address"]
        action = fields.get("action", "")
        account = fields.get("account", "")
        try:
            if action == "grant":
                alias = await directory.grant_send_as(target, account)
                await audit(request, directory, "alias.grant", alias.address, f"account: {account}")
                done = f"{account} may send as {alias.address}"
            elif action == "revoke":
                alias = await directory.revoke_send_as(target, account)
                await audit(
                    request, directory, "alias.revoke", alias.address, f"account: {account}"
                )
                done = f"{account} may no longer send as {alias.address}"
            elif action == "remove":
                alias = await directory.get_alias(target)
                await directory.remove_alias(alias.address)
                await audit(request, directory, "alias.remove", alias.address, describe(alias))
                flash(request, f"removed alias {alias.address}")
                return see_other(ALIASES)
            else:
                raise Refused(f"unknown action {action!r}")
        except (DirectoryError, Refused) as error:
            return await show_alias(request, status_of(error), str(error), fields)
        flash(request, done)
        return see_other(address_url(ALIASES, alias.address))

    return [
        Route(ALIASES, aliases_page, methods=["GET"]),
        Route(ALIASES, add_alias, methods=["POST"]),
        Route(ALIASES + "/{address:path}", alias_page, methods=["GET"]),
        Route(ALIASES + "/{address:path}", change_alias, methods=["POST"]),
    ]
