"""Who may see a page: `admin(request)` and `member(request)` at the top of every
handler return the logged-in account, or raise `LoginRequired` / `Forbidden`, which the
application turns into a redirect to the login page and a 403."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from mailroom.web.guard import session_of
from mailroom.web.sessions import Role


class LoginRequired(Exception):
    """Not logged in: the application redirects to `/login?next=<path>`."""


def member(request: Request) -> str:
    """The logged-in account (admin or member)."""
    session = session_of(request)
    if session.account is None:
        raise LoginRequired
    return session.account


def admin(request: Request) -> str:
    """The logged-in administrator; 403 for a member."""
    account = member(request)
    if session_of(request).role is not Role.ADMIN:
        raise HTTPException(403, "only administrators may see this page")
    return account


def client_address(request: Request) -> str:
    """The client's address, for logs and the audit log."""
    return request.client.host if request.client else "unknown"
