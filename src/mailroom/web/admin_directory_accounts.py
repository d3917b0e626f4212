"""The admin's pages for accounts (`/admin/accounts`, one account at
`/admin/accounts/<address>`): add one with a password, enable or disable it, reset its
password, change its quota and display name, give it extra addresses, remove it. As
`mailroom user` and `mailroom address`; the password is hashed as `user add` hashes it
(argon2id with the config's parameters, off the event loop)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.config.sizes import format_size
from mailroom.directory import (
    DirectoryError,
    NotFound,
    UnknownDomain,
    normalize_address,
    split_address,
)
from mailroom.web.access import admin
from mailroom.web.admin_directory_forms import (
    Refused,
    address_url,
    form_fields,
    new_password,
    quota_of,
    shows_refusals,
    status_of,
)
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

ACCOUNTS = "/admin/accounts"


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
            "admin_dir/accounts.html",
            status=status,
            error=error,
            form=form or {},
            domain=domain,
            domains=await directory.list_domains(),
            accounts=await directory.list_accounts(domain),
            format_size=format_size,
            address_url=address_url,
        )

    @shows_refusals
    async def accounts_page(request: Request) -> Response:
        admin(request)
        return await show_list(request)

    @shows_refusals
    async def add_account(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        shown = {key: value for key, value in fields.items() if not key.startswith("password")}
        try:
            if fields.get("action") != "add":
                raise Refused(f"unknown action {fields.get('action', '')!r}")
            # As `user add`: a bad address or an unknown domain before hashing a password.
            address = normalize_address(fields.get("address", ""))
            domain = split_address(address)[1]
            if not await directory.is_local_domain(domain):
                raise UnknownDomain(domain)
            quota = quota_of(fields.get("quota", ""))
            hashed = await services.hash_password(new_password(fields))
            account = await directory.add_account(
                address,
                hashed,
                display_name=fields.get("display_name", ""),
                quota_bytes=quota,
                enabled=fields.get("disabled") != "yes",
            )
        except (DirectoryError, Refused) as error:
            return await show_list(request, status_of(error), str(error), shown)
        detail = f"quota: {format_size(account.quota_bytes)}"
        if not account.enabled:
            detail += ", disabled"
        await audit(request, directory, "account.add", account.address, detail)
        flash(request, f"added account {account.address}")
        return see_other(address_url(ACCOUNTS, account.address))

    async def show_account(
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        account = await directory.get_account(request.path_params["address"])
        aliases = await directory.list_aliases()
        own = {account.address, *account.extra_addresses}
        return page(
            request,
            "admin_dir/account.html",
            status=status,
            error=error,
            form=form or {},
            item=account,
            quota=format_size(account.quota_bytes) if account.quota_bytes is not None else "",
            send_as=[alias.address for alias in aliases if account.address in alias.send_as],
            forwarded_by=[alias.address for alias in aliases if own & set(alias.targets)],
            format_size=format_size,
            address_url=address_url,
        )

    @shows_refusals
    async def account_page(request: Request) -> Response:
        admin(request)
        return await show_account(request)

    @shows_refusals
    async def change_account(request: Request) -> Response:
        admin(request)
        fields = await form_fields(request)
        target = request.path_params["address"]
        action = fields.get("action", "")
        try:
            done = await _change(request, services, target, action, fields)
        except (DirectoryError, Refused) as error:
            shown = {key: value for key, value in fields.items() if not key.startswith("password")}
            return await show_account(request, status_of(error), str(error), shown)
        flash(request, done)
        if action == "remove":
            return see_other(ACCOUNTS)
        return see_other(address_url(ACCOUNTS, target))

    return [
        Route(ACCOUNTS, accounts_page, methods=["GET"]),
        Route(ACCOUNTS, add_account, methods=["POST"]),
        Route(ACCOUNTS + "/{address:path}", account_page, methods=["GET"]),
        Route(ACCOUNTS + "/{address:path}", change_account, methods=["POST"]),
    ]


async def _change(
    request: Request, services: WebServices, target: str, action: str, fields: dict[str, str]
) -> str:
    """Make one change to the account `target`, audit it, and say what was done."""
    directory = services.directory
    if action == "update":
        quota = quota_of(fields.get("quota", ""))
        account = await directory.update_account(
            target,
            display_name=fields.get("display_name", ""),
            quota_bytes=quota,
            clear_quota=quota is None,
        )
        detail = f"name: {account.display_name!r}, quota: {format_size(account.quota_bytes)}"
        await audit(request, directory, "account.update", account.address, detail)
        return f"{account.address} updated"
    if action == "password":
        account = await directory.get_account(target)
        hashed = await services.hash_password(new_password(fields))
        await directory.set_password_hash(account.address, hashed)
        await audit(request, directory, "account.password", account.address)
        return f"password of {account.address} changed"
    if action in ("enable", "disable"):
        account = await directory.set_enabled(target, action == "enable")
        await audit(request, directory, f"account.{action}", account.address)
        return f"{account.address} {action}d"
    if action == "address-add":
        extra = fields.get("address", "")
        account = await directory.add_address(target, extra)
        added = normalize_address(extra)
        await audit(request, directory, "address.add", added, f"account: {account.address}")
        return f"{account.address} now also receives {added}"
    if action == "address-remove":
        extra = fields.get("address", "")
        owner = await directory.get_account(target)
        if normalize_address(extra) not in owner.extra_addresses:
            raise NotFound(f"{extra} is not an extra address of {owner.address}")
        account = await directory.remove_address(extra)
        await audit(request, directory, "address.remove", extra, f"account: {account.address}")
        return f"removed {extra} from {account.address}"
    if action == "remove":
        if fields.get("confirm") != "yes":
            raise Refused("tick the box to confirm the removal; nothing was changed")
        account = await directory.get_account(target)
        await directory.remove_account(account.address)
        await audit(request, directory, "account.remove", account.address)
        return f"removed account {account.address} (its mail on disk is left in place)"
    raise Refused(f"unknown action {action!r}")
