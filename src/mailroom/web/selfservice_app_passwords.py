"""`/me/app-passwords`: passwords a member makes for one mail client each (IMAP, POP3,
submission, ManageSieve; never these pages), shown once when made, listed by label with
their last use, and revoked one at a time. The server makes them (`auth.app_passwords`:
an id and 100 random bits); only the argon2id hash is kept. A revoked one is refused at
the client's next login, in every process (the directory's version says so)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth.app_passwords import app_password_text, new_secret
from mailroom.directory import DirectoryError, InvalidValue
from mailroom.directory.app_passwords import LABEL_LENGTH
from mailroom.web.access import member
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other


def routes(services: WebServices) -> list[BaseRoute]:
    async def listing(request: Request, status: int = 200, **extra: object) -> Response:
        account = member(request)
        existing = await services.directory.app_passwords(account)
        return page(
            request,
            "self_app_passwords.html",
            status=status,
            app_passwords=existing,
            label_length=LABEL_LENGTH,
            **extra,
        )

    async def show(request: Request) -> Response:
        return await listing(request)

    async def create(request: Request) -> Response:
        account = member(request)
        form = await request.form()
        label = str(form.get("label", ""))[: LABEL_LENGTH + 1]
        secret = new_secret()
        try:
            hashed = await services.authenticator.hash_password(secret)
            made = await services.directory.add_app_password(account, label, hashed)
        except InvalidValue as error:
            return await listing(request, status=400, error=str(error))
        except DirectoryError:
            return await listing(
                request, status=503, error="The directory cannot be reached; try again later."
            )
        await audit(
            request, services.directory, "app_password.add", account, f"id {made.id}: {made.label}"
        )
        # Shown on this answer only, never stored: no redirect, no flash (sessions would
        # keep it).
        return await listing(
            request, new_password=app_password_text(made.id, secret), new_label=made.label
        )

    async def revoke(request: Request) -> Response:
        account = member(request)
        password_id = int(request.path_params["password_id"])
        try:
            revoked = await services.directory.revoke_app_password(account, password_id)
        except DirectoryError:
            return await listing(
                request, status=503, error="The directory cannot be reached; try again later."
            )
        if not revoked:
            return await listing(request, status=404, error="There is no such app password.")
        services.authenticator.forget_logins(f"app:{password_id}")
        await audit(
            request, services.directory, "app_password.revoke", account, f"id {password_id}"
        )
        flash(request, "The app password was revoked.")
        return see_other("/me/app-passwords")

    return [
        Route("/me/app-passwords", show, methods=["GET"]),
        Route("/me/app-passwords", create, methods=["POST"]),
        Route("/me/app-passwords/{password_id:int}/revoke", revoke, methods=["POST"]),
    ]
