"""Members' own pages under `/me`: the overview and changing one's password; the
vacation and forwarding page, app passwords and client certificates are in
`selfservice_*` modules, gathered by `routes` here. Every page is for the logged-in
account only (`access.member`): no page takes an account from the request.

Changing the password (the legacy webmail's password page): the old password is checked
by the host's one Authenticator as a `web` login, so a wrong one counts against the
throttle as any failed login does (and a ban refuses it); the new one is hashed with
argon2id by the same hasher the CLI's `user passwd` uses (`[auth.passwords]`), in the
hashing pool. Then every other web session of the account is ended (whoever had it
open elsewhere must log in again) and the login cache forgets the old password.
"""

from __future__ import annotations

import asyncio
import ipaddress

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth import AuthRequest
from mailroom.directory import DirectoryError, InvalidValue
from mailroom.web import selfservice_app_passwords, selfservice_certificates, selfservice_vacation
from mailroom.web.access import client_address, member
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.guard import session_of
from mailroom.web.pages import flash, page, see_other
from mailroom.web.sessions import SessionStore

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def client_ip(request: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(client_address(request))
    except ValueError:
        return ipaddress.ip_address("0.0.0.0")  # noqa: S104 - unknown client, logged as such


def new_password_problem(new: str, confirm: str) -> str | None:
    """Why `new` cannot be the new password; None when it can."""
    if new != confirm:
        return "The new password and its confirmation differ."
    if len(new) < MIN_PASSWORD_LENGTH:
        return f"The new password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(new) > MAX_PASSWORD_LENGTH:
        return f"The new password may have at most {MAX_PASSWORD_LENGTH} characters."
    if "\x00" in new:
        return "The new password may not contain a NUL character."
    return None


def routes(services: WebServices, sessions: SessionStore) -> list[BaseRoute]:
    async def overview(request: Request) -> Response:
        account = member(request)
        return page(
            request, "self_overview.html", sieve=services.open_scripts is not None, me=account
        )

    async def password_form(request: Request) -> Response:
        member(request)
        return page(request, "self_password.html", min_length=MIN_PASSWORD_LENGTH)

    async def change_password(request: Request) -> Response:
        account = member(request)
        form = await request.form()
        old = str(form.get("old_password", ""))[:MAX_PASSWORD_LENGTH]
        new = str(form.get("new_password", ""))[: MAX_PASSWORD_LENGTH + 1]
        confirm = str(form.get("confirm_password", ""))[: MAX_PASSWORD_LENGTH + 1]

        def refused(message: str, status: int) -> Response:
            return page(
                request,
                "self_password.html",
                status=status,
                error=message,
                min_length=MIN_PASSWORD_LENGTH,
            )

        problem = new_password_problem(new, confirm)
        if problem is not None:
            return refused(problem, 400)
        try:
            result = await services.authenticator.authenticate(
                AuthRequest(
                    protocol="web", client_ip=client_ip(request), login=account, password=old
                )
            )
        except DirectoryError:
            return refused("The directory cannot be reached; try again in a minute.", 503)
        if result.temporary:
            return refused("Too many failed attempts; try again later.", 429)
        if not result.ok or result.account != account or result.master is not None:
            if result.delay_seconds:
                await asyncio.sleep(result.delay_seconds)
            return refused("The current password is not right.", 403)
        try:
            hashed = await services.authenticator.hash_password(new)
            await services.directory.set_password_hash(account, hashed)
        except InvalidValue as error:
            return refused(f"The new password cannot be used: {error}", 400)
        except DirectoryError:
            return refused("The directory cannot be reached; try again in a minute.", 503)
        ended = sessions.end_all(account, keep=session_of(request))
        services.authenticator.forget_logins(account)
        await audit(
            request,
            services.directory,
            "password.change",
            account,
            f"other sessions ended: {ended}",
        )
        flash(
            request,
            "Your password was changed."
            + (f" {ended} other login{'s' if ended != 1 else ''} ended." if ended else ""),
        )
        return see_other("/me/password")

    return [
        Route("/me", overview, methods=["GET"]),
        Route("/me/password", password_form, methods=["GET"]),
        Route("/me/password", change_password, methods=["POST"]),
        *selfservice_vacation.routes(services),
        *selfservice_app_passwords.routes(services),
        *selfservice_certificates.routes(services),
    ]
