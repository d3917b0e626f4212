"""Rendering pages: the one Jinja2 environment (autoescaped, templates of this package),
and what every page needs (the session's CSRF token for its forms, who is logged in, the
messages of the last change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from mailroom.web.guard import session_of
from mailroom.web.sessions import Role

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _common(request: Request) -> dict[str, Any]:
    session = session_of(request)
    flash, session.flash = session.flash, []
    return {
        "csrf_token": session.csrf_token,
        "account": session.account,
        "is_admin": session.role is Role.ADMIN,
        "flash": flash,
    }


templates.env.globals["site_name"] = "Mailroom"
templates.context_processors.append(_common)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template `name` rendered for this request."""
    return templates.TemplateResponse(request, name, context, status_code=status)


def see_other(url: str) -> RedirectResponse:
    """After a successful POST: the browser GETs `url` (no form resent on reload)."""
    return RedirectResponse(url, status_code=303)


def flash(request: Request, message: str) -> None:
    """Show `message` once, on the next page."""
    session_of(request).flash.append(message)
