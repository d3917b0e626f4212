"""Who may see a page: `admin(request)` and `member(request)` at the top of every
handler return the logged-in account, or raise `LoginRequired` / `Forbidden`, which the
application turns into a redirect to the login page and a 403."""

from __future__ import annotations

import ipaddress

from starlette.exceptions import HTTPException
from starlette.requests import Request

from mailroom.auth.throttle import IPAddress
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


def client_ip(request: Request) -> IPAddress:
    """The client's address for the throttle (0.0.0.0 when unknown, which it never is
    on a TCP listener)."""
    return parse_client_ip(client_address(request))


def parse_client_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return ipaddress.ip_address("0.0.0.0")  # noqa: S104 - an unknown client, not a bind
