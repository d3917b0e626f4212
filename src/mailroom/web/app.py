"""The web application of one `web` listener: its routes (each page module gives its
own), the gate (sessions and CSRF, guard.py) and the answers to a missing login or a
refused page."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mailroom.config import Listener
from mailroom.web import (
    admin_audit,
    admin_bans,
    admin_dns,
    admin_queue,
    autoconfig,
    certificate_login,
    dashboard,
    login,
    monitoring,
    selfservice,
    totp,
)
from mailroom.web.access import LoginRequired, member
from mailroom.web.admin_directory import routes as admin_directory_routes
from mailroom.web.context import WebServices
from mailroom.web.guard import Guard
from mailroom.web.pages import page, see_other
from mailroom.web.server import Asgi
from mailroom.web.sessions import SessionStore

STATIC = Path(__file__).parent / "static"

EXEMPT_FROM_GUARD: tuple[str, ...] = (
    *autoconfig.PATHS,
    *monitoring.PATHS,
)
"""Paths that take no session and change nothing, exempt from the CSRF check (each page
module that has one adds it here)."""


def build_app(services: WebServices, listener: Listener) -> Asgi:
    """The application served on `listener`."""
    # One store for the host's web listeners (app/web.py), so that ending an account's
    # sessions (a password change) ends them on every listener.
    sessions = services.sessions or SessionStore(services.settings)

    async def home(request: Request) -> Response:
        member(request)
        return page(request, "home.html")

    routes: list[BaseRoute] = [
        Route("/", home),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *login.routes(services, listener, sessions),
        *admin_directory_routes(services),
        *autoconfig.routes(services),
        *dashboard.routes(services),
        *monitoring.routes(services),
        *admin_queue.routes(services),
        *admin_bans.routes(services),
        *admin_dns.routes(services),
        *certificate_login.routes(services, sessions),
        *totp.routes(services, sessions),
        *admin_audit.routes(services),
        *selfservice.routes(services, sessions),
    ]

    async def login_required(request: Request, exc: Exception) -> Response:
        return see_other(f"/login?next={request.url.path}")

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return page(request, "error.html", status=exc.status_code, detail=exc.detail)

    app = Starlette(
        routes=routes,
        exception_handlers={LoginRequired: login_required, HTTPException: refused},
    )
    return Guard(app, sessions, listener.name, exempt=EXEMPT_FROM_GUARD)
