"""/admin/bans: the login bans in force (client networks and locked accounts, with the
time each has left), and lifting one.

Through the throttle's own administration (`auth.BanAdministration`): the host's
`MemoryThrottle` (its ban file rewritten at once, so a lifted ban stays lifted over a
restart) or the Redis every node shares. A lifted ban's failures are forgotten too, so
the next failure does not ban again at once. Each lift is audited.
"""

from __future__ import annotations

import logging
import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth import BanAdministration, BanKind, BansUnavailable
from mailroom.web.access import admin
from mailroom.web.admin_queue import age_text
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

log = logging.getLogger("mailroom.web")

MAX_SUBJECT = 1024
"""Longest network or account taken from the form (the ban file's own account limit)."""


def ban_id(kind: BanKind, subject: str) -> str:
    """A stable element id for a ban's row and button: `ban-address-203-0-113-9-32`,
    `ban-account-bob-example-test` (letters, digits and hyphens only, for CSS too)."""
    return f"ban-{kind.value}-" + re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower()


def routes(services: WebServices) -> list[BaseRoute]:
    def bans_of() -> BanAdministration:
        if services.bans is None:
            raise HTTPException(503, "this process's throttle keeps no bans to show")
        return services.bans

    async def listing(request: Request) -> Response:
        admin(request)
        try:
            bans = await bans_of().bans()
            problem = None
        except BansUnavailable as error:
            log.warning("web: cannot list the bans: %s", error)
            bans, problem = [], f"The bans cannot be read now: {error}. Try again in a minute."
        rows = [(ban, ban_id(ban.kind, ban.subject), age_text(ban.remaining)) for ban in bans]
        return page(request, "admin_bans.html", rows=rows, problem=problem)

    async def lift(request: Request) -> Response:
        admin(request)
        form = await request.form()
        try:
            kind = BanKind(str(form.get("kind", "")))
        except ValueError:
            raise HTTPException(400, "kind must be address or account") from None
        subject = str(form.get("subject", "")).strip()
        if not subject or len(subject) > MAX_SUBJECT:
            raise HTTPException(400, "which ban? (subject is missing or too long)")
        try:
            lifted = await bans_of().lift(kind, subject)
        except BansUnavailable as error:
            log.warning("web: cannot lift the ban of %s: %s", subject, error)
            flash(request, f"The ban of {subject} could not be lifted: {error}.")
            return see_other("/admin/bans")
        if lifted:
            await audit(request, services.directory, f"ban.lift.{kind.value}", subject)
            flash(request, f"The ban of {subject} is lifted.")
        else:
            flash(request, f"{subject} was not banned (any more).")
        return see_other("/admin/bans")

    return [
        Route("/admin/bans", listing),
        Route("/admin/bans/lift", lift, methods=["POST"]),
    ]
