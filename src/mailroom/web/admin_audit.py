"""The audit log for administrators (`/admin/audit`): who changed what, from where and
when, newest first; optionally one actor's entries only. Read-only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import DirectoryError
from mailroom.web.access import admin
from mailroom.web.context import WebServices
from mailroom.web.pages import page

PAGE_ENTRIES = 200
"""Entries shown at once (the newest)."""
MAX_FILTER_LENGTH = 320


def routes(services: WebServices) -> list[BaseRoute]:
    async def audit_log(request: Request) -> Response:
        admin(request)
        actor = request.query_params.get("actor", "").strip()[:MAX_FILTER_LENGTH] or None
        try:
            entries = await services.directory.audit_entries(PAGE_ENTRIES, actor=actor)
        except DirectoryError:
            return page(
                request, "admin_audit.html", status=503, entries=[], actor=actor, unavailable=True
            )
        return page(request, "admin_audit.html", entries=entries, actor=actor, limit=PAGE_ENTRIES)

    return [Route("/admin/audit", audit_log, methods=["GET"])]
